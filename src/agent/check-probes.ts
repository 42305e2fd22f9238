// The probes behind checks and health checks (the I/O; check-rules.ts judges
// what they find). As in Mesos' built-in executors: a command runs in the
// task's sandbox with the task's environment (here also inside the task's
// cgroups, so it counts against the task's limits and dies with it); HTTP is a
// GET of <scheme>://127.0.0.1:<port><path> that follows redirects, as curl -L
// does; TCP is a connection to 127.0.0.1:<port>. Each probe stops promptly
// when its signal aborts (the timeout, or the task ending) and leaves no
// process or socket behind.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { joinArgv } from '../containerizer/index.js';
import {
  addCommandEnvironment,
  type CheckInfo,
  type CheckType,
  type CommandInfo,
  commandArgv,
  type HealthCheck,
} from '../wire/index.js';
import type { ProbeOutcome } from './check-rules.js';

/** Redirects an HTTP probe follows before it gives up (curl's own limit is 50). */
const MAX_REDIRECTS = 10;

export type ProbeSpec =
  | { readonly kind: 'command'; readonly command: CommandInfo }
  | {
      readonly kind: 'http';
      readonly scheme: 'http' | 'https';
      readonly port: number;
      readonly path: string;
      readonly isIpv6: boolean;
    }
  | { readonly kind: 'tcp'; readonly port: number; readonly isIpv6: boolean };

/** Where a command probe runs: the task's sandbox, environment and cgroups. */
export interface ProbeContext {
  readonly sandbox: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly cgroupProcsFiles: readonly string[];
  /**
   * How to run a command inside the task's container when its cgroups are not enough (a
   * Docker container: `docker exec`); undefined runs it under joinArgv.
   */
  readonly enter?: (
    argv: readonly string[],
  ) => { readonly file: string; readonly args: readonly string[] } | undefined;
  /**
   * Runs the command inside the task's container with no client process (a Docker
   * container's over the Engine API), its output appended to `outputPath`: the exit code.
   * Undefined where there is no such way; enter (or joinArgv) runs it then.
   */
  readonly exec?: (
    argv: readonly string[],
    signal: AbortSignal,
    outputPath: string,
  ) => Promise<number> | undefined;
}

export type Probe = (spec: ProbeSpec, signal: AbortSignal) => Promise<ProbeOutcome>;

/** The probe a health check runs; undefined for a type without its body (validation refuses those). */
export function healthProbeSpec(check: HealthCheck): ProbeSpec | undefined {
  switch (check.type) {
    case 'COMMAND':
      return check.command === undefined ? undefined : { kind: 'command', command: check.command };
    case 'HTTP':
      return check.http === undefined
        ? undefined
        : {
            kind: 'http',
            scheme: check.http.scheme === 'https' ? 'https' : 'http',
            port: check.http.port,
            path: check.http.path ?? '',
            isIpv6: check.http.protocol === 'IPv6',
          };
    case 'TCP':
      return check.tcp === undefined
        ? undefined
        : { kind: 'tcp', port: check.tcp.port, isIpv6: check.tcp.protocol === 'IPv6' };
    case 'UNKNOWN':
    case undefined:
      return undefined;
  }
}

/** The probe a generic check runs (HTTP only, as in Mesos); undefined as above. */
export function checkProbeSpec(check: CheckInfo): ProbeSpec | undefined {
  switch (check.type) {
    case 'COMMAND':
      return check.command === undefined
        ? undefined
        : { kind: 'command', command: check.command.command };
    case 'HTTP':
      return check.http === undefined
        ? undefined
        : {
            kind: 'http',
            scheme: 'http',
            port: check.http.port,
            path: check.http.path ?? '',
            isIpv6: false,
          };
    case 'TCP':
      return check.tcp === undefined
        ? undefined
        : { kind: 'tcp', port: check.tcp.port, isIpv6: false };
    case 'UNKNOWN':
    case undefined:
      return undefined;
  }
}

/** Runs one probe for a task; never rejects. */
export function runProbe(
  spec: ProbeSpec,
  context: ProbeContext,
  signal: AbortSignal,
): Promise<ProbeOutcome> {
  const probe =
    spec.kind === 'command'
      ? commandProbe(spec.command, context, signal)
      : spec.kind === 'http'
        ? httpProbe(spec, signal)
        : tcpProbe(spec, signal);
  return probe.catch((error: unknown) => ({
    kind: 'error',
    message: (error as Error).message,
  }));
}

function result(type: CheckType, body: Omit<ProbeOutcomeStatus, 'type'>): ProbeOutcome {
  return { kind: 'result', status: { type, ...body } };
}
type ProbeOutcomeStatus = Extract<ProbeOutcome, { kind: 'result' }>['status'];

// ----------------------------------------------------------------- command

/**
 * The check command, in its own process group (so a timeout kills all of it),
 * its output appended to the sandbox's stderr as Mesos' executors log it.
 */
function commandProbe(
  command: CommandInfo,
  context: ProbeContext,
  signal: AbortSignal,
): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ kind: 'error', message: abortMessage(signal) });
      return;
    }
    const environment = addCommandEnvironment({ ...context.environment }, command);
    const argv = commandArgv(command);
    const execution = context.exec?.(argv, signal, join(context.sandbox, 'stderr'));
    if (execution !== undefined) {
      execution.then(
        (code) => resolve(result('COMMAND', { command: { exit_code: code } })),
        (error: unknown) =>
          resolve({
            kind: 'error',
            message: signal.aborted
              ? abortMessage(signal)
              : `Failed to run the command: ${(error as Error).message}`,
          }),
      );
      return;
    }
    const { file, args } = context.enter?.(argv) ?? joinArgv(context.cgroupProcsFiles, argv);
    let output: number | 'ignore' = 'ignore';
    try {
      output = openSync(join(context.sandbox, 'stderr'), 'a');
    } catch {
      // No stderr file to log to: the check runs all the same.
    }
    const child = spawn(file, args, {
      cwd: context.sandbox,
      env: environment,
      stdio: ['ignore', output, output],
      detached: true,
    });
    if (typeof output === 'number') closeSync(output);
    const kill = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    signal.addEventListener('abort', kill, { once: true });
    child.once('error', (error) => {
      signal.removeEventListener('abort', kill);
      resolve({ kind: 'error', message: `Failed to run the command: ${error.message}` });
    });
    child.once('exit', (code, killedBy) => {
      signal.removeEventListener('abort', kill);
      if (signal.aborted) resolve({ kind: 'error', message: abortMessage(signal) });
      else if (code !== null) resolve(result('COMMAND', { command: { exit_code: code } }));
      else resolve({ kind: 'error', message: `Command terminated with signal ${killedBy}` });
    });
  });
}

// -------------------------------------------------------------------- http

async function httpProbe(
  spec: Extract<ProbeSpec, { kind: 'http' }>,
  signal: AbortSignal,
): Promise<ProbeOutcome> {
  const host = spec.isIpv6 ? '[::1]' : '127.0.0.1';
  let url = new URL(`${spec.scheme}://${host}:${spec.port}${spec.path}`);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await get(url, signal);
    const location = response.headers.location;
    const code = response.statusCode ?? 0;
    if (code >= 300 && code < 400 && location !== undefined) {
      url = new URL(location, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        return { kind: 'error', message: `Redirected to ${url.protocol} ${url.href}` };
      continue;
    }
    return result('HTTP', { http: { status_code: code } });
  }
  return { kind: 'error', message: `More than ${MAX_REDIRECTS} redirects` };
}

/** The response's head; its body is discarded, as curl -o /dev/null does with it. */
async function get(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
  const options: RequestOptions = {
    method: 'GET',
    signal,
    // One connection per probe, closed with it: nothing pooled outlives the check.
    agent: false,
    headers: { 'user-agent': 'agora-check', connection: 'close' },
  };
  const request =
    url.protocol === 'https:'
      ? // Loaded on first use: most agents never probe https. Certificates are not
        // verified, as Mesos' checks (curl -k) do not verify them.
        (await import('node:https')).request(url, { ...options, rejectUnauthorized: false })
      : httpRequest(url, options);
  return new Promise((resolve, reject) => {
    request.once('response', (response) => {
      response.destroy();
      resolve(response);
    });
    request.once('error', (error) =>
      reject(signal.aborted ? new Error(abortMessage(signal)) : error),
    );
    request.end();
  });
}

// --------------------------------------------------------------------- tcp

function tcpProbe(
  spec: Extract<ProbeSpec, { kind: 'tcp' }>,
  signal: AbortSignal,
): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: spec.isIpv6 ? '::1' : '127.0.0.1', port: spec.port });
    const abort = () => {
      socket.destroy();
      resolve({ kind: 'error', message: abortMessage(signal) });
    };
    if (signal.aborted) {
      abort();
      return;
    }
    signal.addEventListener('abort', abort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', abort);
      socket.destroy();
      resolve(result('TCP', { tcp: { succeeded: true } }));
    });
    // Any failure to connect is a failed check, as mesos-tcp-connect's non-zero exit is.
    socket.once('error', () => {
      signal.removeEventListener('abort', abort);
      socket.destroy();
      resolve(result('TCP', { tcp: { succeeded: false } }));
    });
  });
}

function abortMessage(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : 'aborted';
}
