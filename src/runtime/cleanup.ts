type Undo = () => void | Promise<void>;

/**
 * The undo stack of a component: register the undo of each resource right after
 * acquiring it; run() undoes everything in reverse order, once. An undo that
 * fails does not stop the others; the first failure is rethrown at the end.
 */
export class Cleanup {
  private undos: Undo[] = [];
  private running: Promise<void> | undefined;

  defer(undo: Undo): void {
    if (this.running !== undefined) throw new Error('cleanup already ran; cannot defer more');
    this.undos.push(undo);
  }

  run(): Promise<void> {
    this.running ??= this.unwind();
    return this.running;
  }

  private async unwind(): Promise<void> {
    const errors: unknown[] = [];
    for (const undo of this.undos.reverse()) {
      try {
        await undo();
      } catch (error) {
        errors.push(error);
      }
    }
    this.undos = [];
    if (errors.length > 0) throw errors[0];
  }
}
