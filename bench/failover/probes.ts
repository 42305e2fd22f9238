// What bench:failover watches after a kill, each timed on its own from the SIGKILL:
// (a) a master logs 'elected leader' (and, polled, says master/elected = 1 in
// /metrics/snapshot, which a large master answers from its gauge cache,
// src/master/gauge-cache.ts); (b) it serves the
// scheduler API (a SUBSCRIBE of a probe framework answered 200); then the
// row's own (c) agents back and (d) frameworks subscribed again.
import type { BedDaemon } from '../../test/ha/bed.js';

export const POLL_MS = 20;
const REQUEST_TIMEOUT_MS = 2000;

/** Polls `probe` every POLL_MS until it yields; the value. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve(probe()).catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** `master/elected` of the master at `url`; undefined when it does not answer. */
export async function electedFlag(url: string): Promise<number | undefined> {
  const response = await fetch(new URL('/metrics/snapshot', url), {
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  }).catch(() => undefined);
  if (response?.ok !== true) {
    await response?.body?.cancel();
    return undefined;
  }
  const metrics = (await response.json().catch(() => undefined)) as
    | Record<string, number>
    | undefined;
  return metrics?.['master/elected'];
}

/** The first of `candidates` whose master/elected is 1. */
export function electedAmong(
  candidates: readonly BedDaemon[],
  timeoutMs: number,
): Promise<BedDaemon> {
  return until(
    'a new leader elected',
    async () => {
      const flags = await Promise.all(
        candidates.map((m) => (m.isServing ? electedFlag(m.url) : Promise.resolve(undefined))),
      );
      return candidates.find((_, i) => flags[i] === 1);
    },
    timeoutMs,
  );
}

/**
 * A framework of its own that only subscribes: a master serves the scheduler API
 * once it answers this framework's SUBSCRIBE with 200 (a standby answers 307, a
 * recovering leader 503). Each probe closes its stream at once; the framework
 * stays registered (failover_timeout an hour) and suppressed, so it is offered nothing.
 */
export class SchedulerProbe {
  private frameworkId: string | undefined;

  /** Registers the probe framework with the leader at `url`. */
  async register(url: string): Promise<void> {
    const response = await this.subscribe(url);
    if (response?.status !== 200 || response.body === null)
      throw new Error(`probe SUBSCRIBE to ${url} answered ${response?.status}`);
    // The first record is SUBSCRIBED: "<length>\n{...framework_id...}".
    const reader = response.body.getReader();
    let text = '';
    const decoder = new TextDecoder();
    while (!/"framework_id":\{"value":"[^"]+"/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    const match = /"framework_id":\{"value":"([^"]+)"/.exec(text);
    if (match?.[1] === undefined)
      throw new Error(`no SUBSCRIBED from ${url}: ${text.slice(0, 200)}`);
    this.frameworkId = match[1];
  }

  /** The first of `candidates` that answers the probe's SUBSCRIBE with 200. */
  servingAmong(candidates: readonly BedDaemon[], timeoutMs: number): Promise<BedDaemon> {
    return until(
      'a master serving the scheduler API',
      async () => {
        const answers = await Promise.all(
          candidates.map(async (m) => {
            if (!m.isServing) return false;
            const response = await this.subscribe(m.url);
            await response?.body?.cancel().catch(() => undefined);
            return response?.status === 200;
          }),
        );
        return candidates.find((_, i) => answers[i] === true);
      },
      timeoutMs,
    );
  }

  private subscribe(url: string): Promise<Response | undefined> {
    const id = this.frameworkId;
    const call = {
      type: 'SUBSCRIBE',
      ...(id !== undefined ? { framework_id: { value: id } } : {}),
      subscribe: {
        framework_info: {
          user: 'bench',
          name: 'bench-failover-probe',
          failover_timeout: 3600,
          ...(id !== undefined ? { id: { value: id } } : {}),
        },
        suppressed_roles: ['*'],
      },
    };
    return fetch(new URL('/api/v1/scheduler', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(call),
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    }).catch(() => undefined);
  }
}

/** One kill, each time in ms from just before the leader's SIGKILL. */
export interface Kill {
  /** (a) another master logged 'elected leader' (by the time in its log line). */
  readonly electedMs: number;
  /** (a') the bench first read master/elected = 1 from it. */
  readonly electedPolledMs: number;
  /** (b) it answers the scheduler API (SUBSCRIBE of the probe framework: 200). */
  readonly servingMs: number;
  /** (c) every agent is registered with it again, with its id. */
  readonly agentsMs: number;
  /** (d) every framework got SUBSCRIBED from it. */
  readonly frameworksMs: number;
  /** The framework got OFFERS after that SUBSCRIBED (real rows only). */
  readonly offeredMs?: number;
}

/** Resolves with the ms from `sinceMs` to when `promise` settles. */
export function msSince(sinceMs: number, promise: Promise<unknown>): Promise<number> {
  return promise.then(() => performance.now() - sinceMs);
}

/**
 * When one of `masters` logs that it was elected, by the time in that log line
 * (epoch ms): what the bench's own polls would see late when this process is
 * busy (10,000 simulated agents re-subscribing in it). Call before the kill.
 */
export function electedLogged(masters: readonly BedDaemon[]): {
  readonly atMs: Promise<number>;
  readonly stop: () => void;
} {
  let resolve: (atMs: number) => void = () => {};
  const atMs = new Promise<number>((r) => {
    resolve = r;
  });
  const listener = (line: string) => {
    if (!line.includes('"msg":"elected leader"')) return;
    try {
      const time = (JSON.parse(line) as { time?: unknown }).time;
      if (typeof time === 'string') resolve(Date.parse(time));
    } catch {
      // Not a log line.
    }
  };
  for (const master of masters) master.lineListeners.add(listener);
  return {
    atMs,
    stop: () => {
      for (const master of masters) master.lineListeners.delete(listener);
    },
  };
}

/**
 * The first 'serving' line a newly elected master logs (master.ts): when it recovered its
 * registry, and what that took (registry_read_ms, books_ms, agents_waiting).
 */
export function servingLogged(masters: readonly BedDaemon[]): {
  readonly line: Promise<{ readonly atMs: number; readonly fields: Record<string, unknown> }>;
  readonly stop: () => void;
} {
  let resolve: (value: { atMs: number; fields: Record<string, unknown> }) => void = () => {};
  const line = new Promise<{ atMs: number; fields: Record<string, unknown> }>((r) => {
    resolve = r;
  });
  const listener = (text: string) => {
    if (!text.includes('"msg":"serving"')) return;
    try {
      const fields = JSON.parse(text) as Record<string, unknown>;
      if (typeof fields.time === 'string') resolve({ atMs: Date.parse(fields.time), fields });
    } catch {
      // Not a log line.
    }
  };
  for (const master of masters) master.lineListeners.add(listener);
  return {
    line,
    stop: () => {
      for (const master of masters) master.lineListeners.delete(listener);
    },
  };
}
