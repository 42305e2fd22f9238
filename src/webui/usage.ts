// What the event stream does not carry: resources allocated and offered change
// on every offer and launch without an event (WIRE §6.2 has none for them), so
// the pages that show them poll the master's legacy JSON, which renders each
// resource list as a summary object ({"cpus": 2.0, "mem": 1024.0, …}).
import { getJson } from './api.js';
import { usePoll } from './store.js';

export type Summary = Readonly<Record<string, number | string>>;
export interface Usage {
  readonly total: Summary;
  readonly used: Summary;
  readonly offered: Summary;
}

const USAGE_EVERY_MS = 3000;

interface LegacySlaves {
  readonly slaves: readonly {
    readonly id: string;
    readonly resources: Summary;
    readonly used_resources: Summary;
    readonly offered_resources: Summary;
  }[];
}
interface LegacyFrameworks {
  readonly frameworks: readonly {
    readonly id: string;
    readonly used_resources: Summary;
    readonly offered_resources: Summary;
  }[];
}

export const scalar = (summary: Summary | undefined, name: string): number => {
  const value = summary?.[name];
  return typeof value === 'number' ? value : 0;
};

/** Each agent's total, used and offered resources, by agent id; refreshed every 3 s. */
export function useAgentUsage(): ReadonlyMap<string, Usage> {
  const { value } = usePoll(
    (signal) => getJson<LegacySlaves>('/master/slaves', signal),
    USAGE_EVERY_MS,
  );
  return new Map(
    (value?.slaves ?? []).map((s) => [
      s.id,
      { total: s.resources, used: s.used_resources, offered: s.offered_resources },
    ]),
  );
}

/** Each framework's used and offered resources, by framework id; refreshed every 3 s. */
export function useFrameworkUsage(): ReadonlyMap<string, Omit<Usage, 'total'>> {
  const { value } = usePoll(
    (signal) => getJson<LegacyFrameworks>('/master/frameworks', signal),
    USAGE_EVERY_MS,
  );
  return new Map(
    (value?.frameworks ?? []).map((f) => [
      f.id,
      { used: f.used_resources, offered: f.offered_resources },
    ]),
  );
}
