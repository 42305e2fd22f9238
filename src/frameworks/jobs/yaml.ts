// Job specs as YAML, read the same way as the services framework's app files (app-file.ts):
// YAML 1.2's core schema (so `no` stays a string, not false), duplicate keys refused, aliases
// capped (a "billion laughs" spec is an error, not a hang), no custom tags, one document. Text
// that starts with `{` or `[` is parsed as JSON, so a JSON error reads as one.
import { LineCounter, parseDocument } from 'yaml';

/** More aliases than this in one spec is refused (each may expand a whole subtree). */
export const MAX_YAML_ALIASES = 100;

export class YamlError extends Error {
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

/** Parses `source`; throws YamlError (or SyntaxError for JSON) naming the line. */
export function parseYaml(source: string): unknown {
  const trimmed = source.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return JSON.parse(source);
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, {
    lineCounter,
    schema: 'core',
    uniqueKeys: true,
    prettyErrors: false,
    customTags: [],
  });
  const [first] = [...doc.errors, ...doc.warnings];
  if (first !== undefined)
    throw new YamlError(
      first.code === 'DUPLICATE_KEY' ? 'duplicate key' : firstLine(first.message),
      lineCounter.linePos(first.pos[0]).line,
    );
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? null;
  } catch (cause) {
    throw new YamlError(
      firstLine((cause as Error).message),
      lineCounter.linePos(doc.range[0]).line,
    );
  }
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}
