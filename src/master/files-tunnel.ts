// Sandbox reads relayed over an agent's own connection (#15). An agent behind
// NAT opens its stream to the master, but nothing, the master included, can
// open one to it: /files on the agent's port is out of reach. The master sends
// a FILES_REQUEST event down the agent's stream and waits for the agent's
// FILES_RESPONSE call, matched by request id. Bounded: a few requests per agent
// and in all, each with a deadline; an agent that goes away fails its waiters.
import { randomUUID } from 'node:crypto';
import type { FilesRequest, FilesResponse } from '../wire/index.js';

/** How long an agent has to answer; a read is one local file read on its side. */
export const FILES_TUNNEL_TIMEOUT_MS = 10_000;
const MAX_PENDING_PER_AGENT = 16;
const MAX_PENDING = 1024;

export type TunnelResult =
  | { readonly kind: 'answered'; readonly response: FilesResponse }
  | { readonly kind: 'busy'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string };

interface Pending {
  readonly agentIdValue: string;
  readonly settle: (result: TunnelResult) => void;
}

export class FilesTunnel {
  private readonly pending = new Map<string, Pending>();

  /**
   * Asks agent `agentIdValue` for `path` through `send` (false: its stream is
   * gone). Resolves with its answer, or why there is none.
   */
  request(
    agentIdValue: string,
    request: Omit<FilesRequest, 'request_id'>,
    send: (request: FilesRequest) => boolean,
    signal: AbortSignal,
  ): Promise<TunnelResult> {
    if (this.pending.size >= MAX_PENDING)
      return Promise.resolve({ kind: 'busy', message: `${MAX_PENDING} relayed reads under way` });
    let perAgent = 0;
    for (const waiting of this.pending.values())
      if (waiting.agentIdValue === agentIdValue) perAgent++;
    if (perAgent >= MAX_PENDING_PER_AGENT)
      return Promise.resolve({
        kind: 'busy',
        message: `${MAX_PENDING_PER_AGENT} relayed reads under way for this agent`,
      });
    const requestId = randomUUID();
    return new Promise<TunnelResult>((resolve) => {
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(FILES_TUNNEL_TIMEOUT_MS)]);
      const onAbort = () =>
        settle({
          kind: 'failed',
          message: signal.aborted
            ? 'the client went away'
            : `the agent did not answer within ${FILES_TUNNEL_TIMEOUT_MS} ms`,
        });
      const settle = (result: TunnelResult) => {
        if (!this.pending.delete(requestId)) return;
        deadline.removeEventListener('abort', onAbort);
        resolve(result);
      };
      this.pending.set(requestId, { agentIdValue, settle });
      deadline.addEventListener('abort', onAbort, { once: true });
      if (!send({ request_id: requestId, ...request }))
        settle({ kind: 'failed', message: 'the agent has no open stream' });
    });
  }

  /** An agent's answer; one for another agent's request, or a late one, is dropped. */
  answer(agentIdValue: string, response: FilesResponse): boolean {
    const waiting = this.pending.get(response.request_id);
    if (waiting === undefined || waiting.agentIdValue !== agentIdValue) return false;
    waiting.settle({ kind: 'answered', response });
    return true;
  }

  /** The agent's stream ended: its waiters get no answer. */
  agentGone(agentIdValue: string): void {
    for (const waiting of [...this.pending.values()])
      if (waiting.agentIdValue === agentIdValue)
        waiting.settle({ kind: 'failed', message: 'the agent disconnected' });
  }

  /** Fails every waiter (the master stops). */
  close(): void {
    for (const waiting of [...this.pending.values()])
      waiting.settle({ kind: 'failed', message: 'the master is stopping' });
  }
}
