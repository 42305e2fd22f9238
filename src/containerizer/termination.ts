// Reading how a task ended from what its shim recorded.
import { constants } from 'node:os';
import type { Termination } from './types.js';

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/**
 * A shell's wait status: 0-128 an exit status, 129-192 the signal n = status - 128
 * (the shell's convention; a task that itself exits with 129-192 reads as a
 * signal, as it does for every shell script). Undefined for text that is not one.
 */
export function terminationFromShellStatus(text: string): Termination | undefined {
  const status = Number(text.trim());
  if (text.trim() === '' || !Number.isInteger(status) || status < 0 || status > 255)
    return undefined;
  if (status > 128 && status <= 192) {
    const signal = SIGNAL_NAMES.get(status - 128);
    if (signal !== undefined) return { exitCode: null, signal };
  }
  return { exitCode: status, signal: null };
}
