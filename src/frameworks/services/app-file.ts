// App files for `agora services apply -f`: Marathon app or group definitions
// as JSON or YAML (one document, or several separated by `---`). Bad input is
// reported with file, line and column; a 422 from the API is pointed back at
// the line of the field it names. Pure: text in, documents or an error out.
//
// YAML is read as YAML 1.2's core schema (so `no` stays a string, not false),
// with duplicate keys refused, aliases capped (a "billion laughs" file is an
// error, not a hang) and no custom tags (nothing in a file can build objects
// other than maps, lists and scalars).
import { type Document, LineCounter, parseAllDocuments } from 'yaml';

/** Bounds for one file (house rule: sizes, depths, counts). */
export const APP_FILE_LIMITS = {
  bytes: 1024 * 1024,
  documents: 100,
  aliases: 100,
} as const;

export type AppFileFormat = 'json' | 'yaml';

export interface AppFileDocument {
  /** 'app' unless the document holds `apps` or `groups`: then a group for PUT /v2/groups. */
  readonly kind: 'app' | 'group';
  readonly id: string;
  readonly value: Record<string, unknown>;
  /** Line (1-based) of the value at a Marathon error path (`/healthChecks(0)/path`), if known. */
  readonly lineOf: (path: string) => number | undefined;
}

export type AppFileResult =
  | { readonly kind: 'ok'; readonly format: AppFileFormat; readonly documents: AppFileDocument[] }
  | { readonly kind: 'error'; readonly message: string };

/**
 * The format of `name`'s text: by its extension (.json, .yaml, .yml), else by
 * its first character (`{` or `[` is JSON).
 */
export function formatOf(name: string, text: string): AppFileFormat {
  const lower = name.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  return /^\s*[[{]/.test(text) ? 'json' : 'yaml';
}

export function parseAppFile(name: string, text: string): AppFileResult {
  if (Buffer.byteLength(text) > APP_FILE_LIMITS.bytes)
    return error(`${name}: larger than ${APP_FILE_LIMITS.bytes} bytes`);
  const format = formatOf(name, text);
  return format === 'json' ? parseJson(name, text) : parseYaml(name, text);
}

function parseJson(name: string, text: string): AppFileResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return error(`${name}: not valid JSON: ${(cause as Error).message}`);
  }
  const values = Array.isArray(value) ? value : [value];
  return documentsOf(
    name,
    'json',
    values.map((v, i) => ({
      value: v,
      where: Array.isArray(value) ? `item ${i + 1}` : 'the file',
      lineOf: () => undefined,
    })),
  );
}

function parseYaml(name: string, text: string): AppFileResult {
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    const parsed = parseAllDocuments(text, {
      lineCounter,
      schema: 'core',
      uniqueKeys: true,
      prettyErrors: false,
      customTags: [],
    });
    // A stream that is not YAML at all comes back as one EmptyStream.
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (cause) {
    return error(`${name}: not valid YAML: ${(cause as Error).message}`);
  }
  if (docs.length > APP_FILE_LIMITS.documents)
    return error(`${name}: more than ${APP_FILE_LIMITS.documents} documents`);
  for (const doc of docs) {
    const [first] = [...doc.errors, ...doc.warnings];
    if (first !== undefined) {
      const at = lineCounter.linePos(first.pos[0]);
      return error(`${name}:${at.line}:${at.col}: ${firstLine(first.message)}`);
    }
  }
  const values: { value: unknown; where: string; lineOf: (path: string) => number | undefined }[] =
    [];
  for (const [i, doc] of docs.entries()) {
    if (doc.contents === null) continue; // an empty document between `---`s
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: APP_FILE_LIMITS.aliases });
    } catch (cause) {
      const at = lineCounter.linePos(doc.range[0]);
      return error(`${name}:${at.line}:${at.col}: ${firstLine((cause as Error).message)}`);
    }
    values.push({
      value,
      where:
        docs.length > 1
          ? `document ${i + 1} (line ${lineCounter.linePos(doc.range[0]).line})`
          : 'the file',
      lineOf: (path) => {
        const node = doc.getIn(pathSegments(path), true);
        const offset =
          typeof node === 'object' && node !== null && 'range' in node
            ? (node.range as [number, number, number] | undefined)?.[0]
            : undefined;
        return offset === undefined ? undefined : lineCounter.linePos(offset).line;
      },
    });
  }
  return documentsOf(name, 'yaml', values);
}

function documentsOf(
  name: string,
  format: AppFileFormat,
  values: readonly {
    value: unknown;
    where: string;
    lineOf: (path: string) => number | undefined;
  }[],
): AppFileResult {
  if (values.length === 0) return error(`${name}: no app definition in it`);
  if (values.length > APP_FILE_LIMITS.documents)
    return error(`${name}: more than ${APP_FILE_LIMITS.documents} definitions`);
  const documents: AppFileDocument[] = [];
  for (const { value, where, lineOf } of values) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return error(`${name}: ${where} is not a map of fields (an app definition with an "id")`);
    const record = value as Record<string, unknown>;
    if (typeof record.id !== 'string' || record.id === '')
      return error(`${name}: ${where} has no "id" (a text such as /web)`);
    const isGroup = 'apps' in record || 'groups' in record;
    documents.push({ kind: isGroup ? 'group' : 'app', id: record.id, value: record, lineOf });
  }
  return { kind: 'ok', format, documents };
}

/** `/healthChecks(0)/path` or `/healthChecks/0/path` -> ['healthChecks', 0, 'path']. */
export function pathSegments(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const part of path.split('/')) {
    if (part === '') continue;
    const indexed = /^(.*)\((\d+)\)$/.exec(part);
    if (indexed !== null) {
      if (indexed[1] !== undefined && indexed[1] !== '') segments.push(indexed[1]);
      segments.push(Number(indexed[2]));
    } else segments.push(/^\d+$/.test(part) ? Number(part) : part);
  }
  return segments;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function error(message: string): AppFileResult {
  return { kind: 'error', message };
}
