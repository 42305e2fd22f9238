// Numbers as people read them.

export function bytes(megabytes: number): string {
  if (megabytes >= 1024 * 1024) return `${(megabytes / 1024 / 1024).toFixed(1)} TB`;
  if (megabytes >= 1024) return `${(megabytes / 1024).toFixed(1)} GB`;
  return `${Math.round(megabytes)} MB`;
}

export function rawBytes(count: number): string {
  if (count < 1024) return `${count} B`;
  if (count < 1024 * 1024) return `${(count / 1024).toFixed(1)} KB`;
  return bytes(count / 1024 / 1024);
}

/** A resource amount in its unit: MB for mem and disk, a count for cpus and gpus. */
export function amount(name: string, value: number): string {
  if (name === 'mem' || name === 'disk') return bytes(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

export function time(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  return new Date(seconds * 1000).toLocaleString();
}

export function shortId(id: string): string {
  return id.length > 14 ? `…${id.slice(-12)}` : id;
}

export const stateClass = (state: string) => `state state-${state.toLowerCase()}`;
export const stateLabel = (state: string) => state.replace(/^TASK_/, '').toLowerCase();
