// The YAML a job spec needs, without a YAML library (the project has none, and a spec is small):
// block mappings and sequences by indentation, `- key: value` items, flow sequences and maps of
// scalars (`[a, b]`, `{a: 1}`), plain, single- and double-quoted scalars, `|` and `>` block
// strings, `#` comments, and a leading `---`. Anchors, tags, multiple documents and multi-line
// flow collections are refused with the line number rather than read wrongly. JSON is YAML too:
// text that starts with `{` or `[` is parsed as JSON.

export class YamlError extends Error {
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

interface Line {
  readonly indent: number;
  readonly text: string;
  readonly number: number;
}

/** Parses `source`; throws YamlError (or SyntaxError for JSON) naming the line. */
export function parseYaml(source: string): unknown {
  const trimmed = source.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return JSON.parse(source);
  const lines: Line[] = [];
  const raw = source.split(/\r?\n/);
  for (const [i, line] of raw.entries()) {
    const text = stripComment(line).trimEnd();
    if (text.trim() === '' || (text.trim() === '---' && lines.length === 0)) continue;
    if (text.trim() === '---' || text.trim() === '...')
      throw new YamlError('one document only', i + 1);
    if (/^\t/.test(line)) throw new YamlError('tabs are not indentation in YAML', i + 1);
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), number: i + 1 });
  }
  if (lines.length === 0) return null;
  const parser = new Parser(lines, raw);
  const value = parser.block(lines[0]?.indent ?? 0);
  const rest = parser.peek();
  if (rest !== undefined) throw new YamlError('unexpected indentation', rest.number);
  return value;
}

function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || line[i - 1] === ' ')) return line.slice(0, i);
  }
  return line;
}

class Parser {
  private at = 0;
  constructor(
    private readonly lines: Line[],
    private readonly raw: readonly string[],
  ) {}

  peek(): Line | undefined {
    return this.lines[this.at];
  }

  block(indent: number): unknown {
    const first = this.peek();
    if (first === undefined) return null;
    return first.text.startsWith('- ') || first.text === '-'
      ? this.sequence(first.indent)
      : this.mapping(indent);
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    for (let line = this.peek(); line !== undefined && line.indent === indent; line = this.peek()) {
      if (!(line.text.startsWith('- ') || line.text === '-')) break;
      const rest = line.text.slice(1).trimStart();
      this.at++;
      if (rest === '') {
        const next = this.peek();
        items.push(next !== undefined && next.indent > indent ? this.block(next.indent) : null);
      } else if (isKeyValue(rest)) {
        // `- key: value` opens a mapping whose keys sit at the column after `- `.
        const column = indent + line.text.length - rest.length;
        this.at--;
        this.lines[this.at] = { indent: column, text: rest, number: line.number };
        items.push(this.mapping(column));
      } else items.push(this.scalarOrFlow(rest, line));
    }
    return items;
  }

  private mapping(indent: number): Record<string, unknown> {
    const map: Record<string, unknown> = Object.create(null);
    for (let line = this.peek(); line !== undefined && line.indent === indent; line = this.peek()) {
      const pair = splitKey(line.text);
      if (pair === undefined)
        throw new YamlError(`expected 'key: value', got '${line.text}'`, line.number);
      const [key, rest] = pair;
      if (Object.hasOwn(map, key)) throw new YamlError(`duplicate key '${key}'`, line.number);
      this.at++;
      if (rest === '') {
        const next = this.peek();
        const isNested =
          next !== undefined &&
          (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')));
        map[key] = isNested && next !== undefined ? this.block(next.indent) : null;
      } else if (rest === '|' || rest === '>' || /^[|>][-+]?$/.test(rest))
        map[key] = this.blockString(rest, indent, line);
      else map[key] = this.scalarOrFlow(rest, line);
    }
    return { ...map };
  }

  private blockString(style: string, indent: number, header: Line): string {
    const out: string[] = [];
    let column: number | undefined;
    // Block strings keep their lines verbatim, blank ones included: read the raw text.
    let rawAt = header.number; // raw index of the line after the header
    while (rawAt < this.raw.length) {
      const rawLine = this.raw[rawAt] ?? '';
      const lineIndent = rawLine.length - rawLine.trimStart().length;
      if (rawLine.trim() !== '' && lineIndent <= indent) break;
      if (rawLine.trim() !== '') column ??= lineIndent;
      out.push(rawLine.trim() === '' ? '' : rawLine.slice(column ?? lineIndent));
      rawAt++;
    }
    while (this.peek() !== undefined && (this.peek()?.number ?? 0) <= rawAt) this.at++;
    while (out.length > 0 && out[out.length - 1] === '') out.pop();
    const body = style.startsWith('>') ? out.join(' ').replace(/ {2,}/g, '\n') : out.join('\n');
    return style.endsWith('-') ? body : `${body}\n`;
  }

  private scalarOrFlow(text: string, line: Line): unknown {
    if (text.startsWith('&') || text.startsWith('*') || text.startsWith('!'))
      throw new YamlError('anchors, aliases and tags are not supported', line.number);
    if (text.startsWith('[') || text.startsWith('{')) {
      try {
        return JSON.parse(toJsonFlow(text));
      } catch {
        throw new YamlError(`cannot read the flow collection '${text}'`, line.number);
      }
    }
    return scalar(text, line);
  }
}

function isKeyValue(text: string): boolean {
  return splitKey(text) !== undefined;
}

function splitKey(text: string): [string, string] | undefined {
  let key: string;
  let rest: string;
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = text.indexOf(text[0] ?? '"', 1);
    if (end < 0 || text[end + 1] !== ':') return undefined;
    key = text.slice(1, end);
    rest = text.slice(end + 2);
  } else {
    const match = /^([^:#[\]{}]+?):(?:\s+|$)/.exec(text);
    if (match === null) return undefined;
    key = (match[1] ?? '').trim();
    rest = text.slice(match[0].length);
  }
  return [key, rest.trim()];
}

function scalar(text: string, line: Line): unknown {
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new YamlError(`bad double-quoted string ${text}`, line.number);
    }
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2)
      throw new YamlError(`unterminated single-quoted string ${text}`, line.number);
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (/^(null|~|Null|NULL)$/.test(text)) return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?(\d+|\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return Number.parseInt(text.slice(2), 16);
  return text;
}

/** `[a, 'b c', 1]` / `{a: 1, b: x}` (scalars only) as JSON text. */
function toJsonFlow(text: string): string {
  let out = '';
  let i = 0;
  const token = () => {
    const start = i;
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      return text.slice(start, i);
    }
    if (text[i] === "'") {
      i++;
      while (i < text.length && !(text[i] === "'" && text[i + 1] !== "'"))
        i += text[i] === "'" ? 2 : 1;
      i++;
      return JSON.stringify(text.slice(start + 1, i - 1).replaceAll("''", "'"));
    }
    while (
      i < text.length &&
      !',]}'.includes(text[i] ?? '') &&
      !(text[i] === ':' && text[i + 1] === ' ')
    )
      i++;
    const plain = text.slice(start, i).trim();
    return JSON.stringify(scalar(plain, { indent: 0, text: plain, number: 0 }));
  };
  while (i < text.length) {
    const c = text[i] ?? '';
    if ('[]{},'.includes(c)) {
      out += c;
      i++;
    } else if (c === ':') {
      out += ':';
      i++;
    } else if (c === ' ') i++;
    else out += token();
  }
  return out;
}
