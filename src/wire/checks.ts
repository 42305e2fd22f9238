// What makes a task's health check or check invalid beyond its shape (which
// schemas.ts checks): the body its type needs, an HTTP path's leading '/', a
// scheme Agora can speak. Mesos checks these with the task and fails only that
// task (TASK_ERROR, REASON_TASK_INVALID), so the master calls these from its
// task validation rather than refusing the whole call.
import type { CheckInfo, CommandInfo, HealthCheck } from './messages.js';
import { quote } from './text.js';

/** Why `healthCheck` cannot run, or undefined when it can. */
export function healthCheckError(healthCheck: HealthCheck): string | undefined {
  switch (healthCheck.type) {
    case undefined:
      return "HealthCheck must specify 'type'";
    case 'UNKNOWN':
      return "'UNKNOWN' is not a valid health check type";
    case 'COMMAND':
      if (healthCheck.command === undefined)
        return "Expecting 'command' to be set for COMMAND health check";
      return commandError(healthCheck.command, 'Command health check');
    case 'HTTP': {
      const http = healthCheck.http;
      if (http === undefined) return "Expecting 'http' to be set for HTTP health check";
      if (http.scheme !== undefined && http.scheme !== 'http' && http.scheme !== 'https')
        return `Unsupported HTTP health check scheme: ${quote(http.scheme)}`;
      if (http.path !== undefined && !http.path.startsWith('/'))
        return `The path ${quote(http.path)} of HTTP health check must start with '/'`;
      return undefined;
    }
    case 'TCP':
      return healthCheck.tcp === undefined
        ? "Expecting 'tcp' to be set for TCP health check"
        : undefined;
  }
}

/** Why `check` cannot run, or undefined when it can. */
export function checkInfoError(check: CheckInfo): string | undefined {
  switch (check.type) {
    case undefined:
      return "CheckInfo must specify 'type'";
    case 'UNKNOWN':
      return "'UNKNOWN' is not a valid check type";
    case 'COMMAND':
      if (check.command === undefined) return "Expecting 'command' to be set for COMMAND check";
      return commandError(check.command.command, 'Command check');
    case 'HTTP':
      if (check.http === undefined) return "Expecting 'http' to be set for HTTP check";
      if (check.http.path !== undefined && !check.http.path.startsWith('/'))
        return `The path ${quote(check.http.path)} of HTTP check must start with '/'`;
      return undefined;
    case 'TCP':
      return check.tcp === undefined ? "Expecting 'tcp' to be set for TCP check" : undefined;
  }
}

function commandError(command: CommandInfo, what: string): string | undefined {
  if (command.value !== undefined && command.value !== '') return undefined;
  return `${what} must contain ${(command.shell ?? true) ? "'shell command'" : "'executable path'"}`;
}
