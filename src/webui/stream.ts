// The operator event stream (`POST /api/v1` SUBSCRIBE) kept open for as long
// as the page is: a dropped or silent stream is opened again with capped
// backoff, and every change of the link is reported so the page can say so.

import { onCredentialChange, unauthorized, withCredential } from './api.js';
import type { OperatorEvent } from './model.js';
import { RecordIoDecoder } from './recordio.js';

export type LinkState =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'live'; readonly reconnects: number; readonly sinceMs: number }
  | {
      readonly kind: 'reconnecting';
      readonly reconnects: number;
      readonly retryAtMs: number;
      readonly reason: string;
    };

/** Backoff between attempts: doubles from the first, capped (the master may be restarting). */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;
/** Heartbeats come every 15 s (WIRE §1.6); this many missed means a dead link. */
const MISSED_HEARTBEATS = 3;

export interface StreamOptions {
  readonly onEvent: (event: OperatorEvent) => void;
  readonly onLink: (link: LinkState) => void;
  readonly signal: AbortSignal;
}

/** Runs until `signal` aborts. Never rejects. */
export async function followEvents(options: StreamOptions): Promise<void> {
  const { signal } = options;
  let reconnects = 0;
  let failures = 0;
  options.onLink({ kind: 'connecting' });
  while (!signal.aborted) {
    let reason = 'stream ended';
    try {
      await readOnce(options, () => {
        failures = 0;
        options.onLink({ kind: 'live', reconnects, sinceMs: Date.now() });
      });
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    if (signal.aborted) return;
    reconnects += 1;
    const waitMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** failures);
    failures += 1;
    options.onLink({ kind: 'reconnecting', reconnects, retryAtMs: Date.now() + waitMs, reason });
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stopListening();
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      // A credential typed in the sign-in form is tried at once, not after the backoff.
      const stopListening = onCredentialChange(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

async function readOnce(options: StreamOptions, onOpen: () => void): Promise<void> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  options.signal.addEventListener('abort', stop, { once: true });
  let silenceMs = 15_000 * MISSED_HEARTBEATS;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const feed = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => abort.abort(new Error('no heartbeat')), silenceMs);
  };
  try {
    feed();
    const response = await fetch('/api/v1', {
      method: 'POST',
      headers: withCredential({ 'content-type': 'application/json', accept: 'application/json' }),
      body: JSON.stringify({ type: 'SUBSCRIBE' }),
      signal: abort.signal,
    });
    if (response.status === 401) unauthorized();
    if (!response.ok || response.body === null)
      throw new Error(`SUBSCRIBE answered ${response.status}`);
    const reader = response.body.getReader();
    const decoder = new RecordIoDecoder();
    let isOpen = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      feed();
      for (const record of decoder.push(value)) {
        const event = JSON.parse(record) as OperatorEvent;
        if (event.type === 'SUBSCRIBED') {
          const interval = event.subscribed.heartbeat_interval_seconds;
          if (interval !== undefined && interval > 0)
            silenceMs = interval * 1000 * MISSED_HEARTBEATS;
          feed();
        }
        options.onEvent(event);
        if (!isOpen && event.type === 'SUBSCRIBED') {
          isOpen = true;
          onOpen();
        }
      }
    }
  } finally {
    clearTimeout(watchdog);
    options.signal.removeEventListener('abort', stop);
    abort.abort();
  }
}
