// Marathon's readiness checks (docs/docs/readiness-checks.md), run by the
// framework itself: an HTTP GET to the new instance's named port, every
// intervalSeconds, until an answer's status is one of httpStatusCodesForReady.
// The core says which instances to check (readinessCandidates) and takes the
// answers (readinessResult); this module only does the I/O, bounded.
import type { AppState, ReadinessResult } from './core.js';
import type { Instance } from './instance.js';
import { hostPortsOf } from './networks.js';

/** Checks in flight at once: a thousand-instance deploy does not open a thousand sockets. */
const MAX_IN_FLIGHT = 32;
/** Of an answer's body, kept when preserveLastResponse is set. */
const MAX_BODY_CHARS = 1024;

export class ReadinessProber {
  private readonly inFlight = new Set<string>();
  private readonly nextAtMs = new Map<string, number>();
  private readonly stopping = new AbortController();

  constructor(private readonly onResult: (result: ReadinessResult) => void) {}

  /** Starts the checks that are due among `candidates`; forgets instances no longer there. */
  run(candidates: readonly { instance: Instance; app: AppState }[], nowMs: number): void {
    const ids = new Set(candidates.map((c) => c.instance.id));
    for (const id of this.nextAtMs.keys()) if (!ids.has(id)) this.nextAtMs.delete(id);
    for (const { instance, app } of candidates) {
      if (this.inFlight.size >= MAX_IN_FLIGHT || this.stopping.signal.aborted) return;
      const check = app.def.readinessChecks[0];
      if (check === undefined || this.inFlight.has(instance.id)) continue;
      if ((this.nextAtMs.get(instance.id) ?? 0) > nowMs) continue;
      this.nextAtMs.set(instance.id, nowMs + check.intervalSeconds * 1000);
      const portIndex = hostPortsOf(app.def).findIndex((p) => p.name === check.portName);
      const port = instance.ports[portIndex];
      if (port === undefined) continue;
      const url = `${check.protocol.toLowerCase()}://${instance.ip}:${port}${check.path}`;
      this.inFlight.add(instance.id);
      void this.probe(url, check.timeoutSeconds * 1000)
        .then((answer) => {
          if (this.stopping.signal.aborted) return;
          this.onResult({
            name: check.name,
            taskId: instance.id,
            ready: answer !== undefined && check.httpStatusCodesForReady.includes(answer.status),
            lastResponse: check.preserveLastResponse ? answer : undefined,
          });
        })
        .finally(() => this.inFlight.delete(instance.id));
    }
  }

  stop(): void {
    this.stopping.abort();
  }

  /** The answer's status and the start of its body; undefined when nothing answered in time. */
  private async probe(
    url: string,
    timeoutMs: number,
  ): Promise<{ status: number; body: string } | undefined> {
    try {
      const response = await fetch(url, {
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(timeoutMs)]),
      });
      // Only the start of the body is read: an endless answer is not buffered.
      const reader = response.body?.getReader();
      const decoder = new TextDecoder();
      let body = '';
      while (reader !== undefined && body.length < MAX_BODY_CHARS) {
        const { done, value } = await reader.read();
        if (done) break;
        body += decoder.decode(value, { stream: true });
      }
      await reader?.cancel().catch(() => undefined);
      return { status: response.status, body: body.slice(0, MAX_BODY_CHARS) };
    } catch {
      return undefined;
    }
  }
}
