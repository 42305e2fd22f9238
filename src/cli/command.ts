// A declarative command table on node:util's parseArgs. Commander would cost
// ~11 ms of every start here, and `agora run` must start a task within 75 ms
// of its own launch (#3); this covers what the CLI needs: flags, help, errors.
import { parseArgs } from 'node:util';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  /** Shown in help; applied by the command itself, so "unset" stays detectable. */
  readonly default?: string;
  readonly placeholder?: string;
  readonly multiple?: boolean;
  readonly short?: string;
  /**
   * A string flag that may also be given alone: `--ha` means `--ha=<bareValue>`
   * (node's parseArgs has no optional values). `--ha etcd` still reads `etcd`.
   */
  readonly bareValue?: string;
}

export type ParsedValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Usage after `agora <name>`, e.g. `[options] -- <command> [args...]`. */
  readonly usage: string;
  readonly details?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly allowPositionals?: boolean;
  /** Exit status when the master cannot be reached (default 1). */
  readonly unreachableExitStatus?: number;
  /** Runs the command; resolves with the process exit status. Implementations load lazily. */
  readonly run: (values: ParsedValues, positionals: readonly string[]) => Promise<number>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseCommand(spec: CommandSpec, args: readonly string[]) {
  const bare = withBareValues(spec, args);
  const plain = parsePlainLongFlags(spec, bare);
  if (plain !== undefined)
    return { values: plain.values, positionals: plain.positionals, wantsHelp: plain.wantsHelp };
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([name, option]) => [
      name,
      {
        type: option.type,
        ...(option.multiple === true ? { multiple: true } : {}),
        ...(option.short !== undefined ? { short: option.short } : {}),
      },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({
      args: bare,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: spec.allowPositionals ?? false,
      strict: true,
    });
    return { values: values as ParsedValues, positionals, wantsHelp: values.help === true };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * The common command line, `--name value`, `--name=value`, `--flag`, positionals and `--`,
 * parsed as node's parseArgs would, without loading it: its first call cost ~0.5 ms of CPU
 * on the path of `agora run`'s first request (#7 item 17, bench/RESULTS.md). Undefined for
 * anything else (short flags, unknown names, a value that starts with `-`, a flag given a
 * value, a positional where none is allowed): parseArgs then parses it, or words the error.
 */
export function parsePlainLongFlags(
  spec: CommandSpec,
  args: readonly string[],
):
  | { readonly values: ParsedValues; readonly positionals: string[]; readonly wantsHelp: boolean }
  | undefined {
  const values: Record<string, string | boolean | string[]> = Object.create(null);
  const positionals: string[] = [];
  let wantsHelp = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg !== '-') return undefined;
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals < 0 ? undefined : equals);
    if (name === 'help') {
      if (equals >= 0) return undefined;
      wantsHelp = true;
      values.help = true;
      continue;
    }
    const option = Object.hasOwn(spec.options, name) ? spec.options[name] : undefined;
    if (option === undefined) return undefined;
    if (option.type === 'boolean') {
      if (equals >= 0) return undefined;
      values[name] = true;
      continue;
    }
    let value: string;
    if (equals >= 0) value = arg.slice(equals + 1);
    else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('-')) return undefined;
      value = next;
      i += 1;
    }
    if (option.multiple === true) {
      const list = values[name];
      values[name] = Array.isArray(list) ? [...list, value] : [value];
    } else values[name] = value;
  }
  if (positionals.length > 0 && spec.allowPositionals !== true) return undefined;
  return { values, positionals, wantsHelp };
}

/** `--name` alone (at the end, or before another flag) becomes `--name=<bareValue>`. */
function withBareValues(spec: CommandSpec, args: readonly string[]): string[] {
  const out: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === '--') return [...out, ...args.slice(i)];
    const bare = arg.startsWith('--') ? spec.options[arg.slice(2)]?.bareValue : undefined;
    const next = args[i + 1];
    out.push(
      bare !== undefined && (next === undefined || next.startsWith('-')) ? `${arg}=${bare}` : arg,
    );
  }
  return out;
}

export function commandHelp(spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([name, option]) => {
    const value =
      option.type !== 'string'
        ? ''
        : option.bareValue !== undefined
          ? `[=<${option.placeholder ?? 'value'}>]`
          : ` <${option.placeholder ?? 'value'}>`;
    const flag = `${option.short !== undefined ? `-${option.short}, ` : ''}--${name}${value}`;
    const extra = option.default !== undefined ? ` (default: ${option.default})` : '';
    return [flag, `${option.description}${extra}`] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    `Usage: agora ${spec.name} ${spec.usage}`,
    '',
    spec.summary,
    ...(spec.details !== undefined ? ['', spec.details] : []),
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
    '',
  ].join('\n');
}

export function overviewHelp(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'Usage: agora <command> [options]',
    '',
    'Agora: a cluster resource manager that speaks the Apache Mesos v1 HTTP API.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    "Run 'agora <command> --help' for a command's options.",
    '',
  ].join('\n');
}

/** A string flag, or undefined when it was not given. */
export function stringFlag(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A number flag; throws UsageError naming the flag when it is not a number in range. */
export function numberFlag(values: ParsedValues, name: string, fallback: number, min = 0): number {
  const raw = stringFlag(values, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min)
    throw new UsageError(`--${name}: expected a number ≥ ${min}, got '${raw}'`);
  return value;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

/** A Mesos duration flag (`1secs`, `500ms`, `15mins`) in milliseconds. */
export function durationFlag(values: ParsedValues, name: string, fallbackMs: number): number {
  const raw = stringFlag(values, name);
  if (raw === undefined) return fallbackMs;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/.exec(raw);
  const unit = match?.[2] === undefined ? undefined : DURATION_UNITS_MS[match[2]];
  if (match?.[1] === undefined || unit === undefined)
    throw new UsageError(
      `--${name}: expected a duration such as 1secs, 500ms or 15mins, got '${raw}'`,
    );
  return Number(match[1]) * unit;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/**
 * A Mesos bytes flag (`8MB`, `512KB`, `1GB`; binary units, as stout's Bytes) in
 * bytes; 0 only where `allowZero` says it means something (a cache turned off).
 */
export function bytesFlag(
  values: ParsedValues,
  name: string,
  fallback: number,
  options: { readonly allowZero?: boolean } = {},
): number {
  const raw = stringFlag(values, name);
  if (raw === undefined) return fallback;
  const match = /^\s*(\d+)\s*(B|KB|MB|GB|TB)\s*$/.exec(raw);
  const unit = match?.[2] === undefined ? undefined : BYTE_UNITS[match[2]];
  const isZeroRefused = Number(match?.[1]) === 0 && options.allowZero !== true;
  if (match?.[1] === undefined || unit === undefined || isZeroRefused)
    throw new UsageError(`--${name}: expected a size such as 8MB, 512KB or 1GB, got '${raw}'`);
  return Number(match[1]) * unit;
}

/**
 * Set by `agora up` for the daemons it starts: stop when stdin closes, that is
 * when `up` is gone, whatever killed it.
 */
export const STOP_WITH_PARENT_ENV = 'AGORA_STOP_WITH_PARENT';

/** Every flag given, as strings, for `/flags` endpoints. */
/**
 * The flags a daemon shows at /flags and in GET_FLAGS: as Mesos does, every flag with its
 * effective value, so a literal default is shown too (an unset boolean is 'false'); a default
 * that describes how the value is computed ('detected from the host') is left out rather than
 * shown as if it were the value.
 */
export function flagsOf(
  values: ParsedValues,
  options: Readonly<Record<string, OptionSpec>> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, option] of Object.entries(options)) {
    if (option.default !== undefined && /^[^\s$<]+$/.test(option.default))
      out[name] = option.default;
    else if (option.type === 'boolean') out[name] = 'false';
  }
  for (const [name, value] of Object.entries(values))
    if (name !== 'help' && value !== undefined)
      out[name] = Array.isArray(value) ? value.join(',') : String(value);
  return out;
}
