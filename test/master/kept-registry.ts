// An in-memory registry that lets a test (or a bench) read what it holds, to hand it to the
// next master, as a newly elected master recovers what the last one wrote.
import {
  InMemoryRegistry,
  type RegistryOperation,
  type RegistryState,
} from '../../src/registry/index.js';

export class KeptRegistry extends InMemoryRegistry {
  held: RegistryState | undefined;
  override async apply(op: RegistryOperation): Promise<RegistryState> {
    this.held = await super.apply(op);
    return this.held;
  }
}
