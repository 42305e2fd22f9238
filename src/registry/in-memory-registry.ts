import assert from 'node:assert/strict';
import { encodeOperation } from './codec.js';
import { RegistryClosedError } from './errors.js';
import type { RecoveryReport, Registry } from './registry.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  type RegistryOperation,
  type RegistryState,
} from './state.js';

export interface InMemoryRegistryOptions {
  /** What recover() returns; empty by default. Lets tests of other modules start mid-history. */
  readonly initial?: RegistryState;
}

/**
 * A registry that forgets everything when the process exits: for unit tests of
 * other modules and for `--registry=in_memory`, as in Mesos. It keeps the same
 * contract as the embedded store (recover first, call order, closed after close,
 * and operations must be storable as JSON), so a test that passes here does not
 * fail on the real store for a reason this one hid.
 */
export class InMemoryRegistry implements Registry {
  private state: RegistryState;
  private phase: 'new' | 'open' | 'closed' = 'new';
  private report: RecoveryReport | undefined;

  constructor(options: InMemoryRegistryOptions = {}) {
    this.state = options.initial ?? EMPTY_REGISTRY_STATE;
  }

  get recoveryReport(): RecoveryReport | undefined {
    return this.report;
  }

  async recover(): Promise<RegistryState> {
    assert.equal(this.phase, 'new', 'recover() must be called exactly once, before close()');
    this.phase = 'open';
    this.report = {
      snapshotGeneration: undefined,
      recordsReplayed: 0,
      tornTail: undefined,
      removedFiles: [],
    };
    return this.state;
  }

  async apply(op: RegistryOperation): Promise<RegistryState> {
    if (this.phase === 'closed') throw new RegistryClosedError();
    assert.equal(this.phase, 'open', 'recover() must resolve before apply()');
    const next = applyOperation(this.state, op);
    encodeOperation(op); // fails an assertion on what the embedded store could not store
    this.state = next;
    return next;
  }

  async close(): Promise<void> {
    this.phase = 'closed';
  }
}
