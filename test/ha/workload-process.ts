// Runs workload.ts as a process of its own (so a fault can SIGKILL it) and
// restarts it on the same journal, where it carries on as the same framework.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, waitFor } from '../integration/harness.js';
import { type JournalEntry, readJournal } from './journal.js';

export interface WorkloadOptions {
  readonly master: string;
  /** Where the journal and the ran-file go. */
  readonly dir: string;
  readonly long?: number;
  readonly short?: number;
  readonly shortSeconds?: number;
}

export class WorkloadProcess {
  readonly journalPath: string;
  readonly ranPath: string;
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private readonly stderr: string[] = [];
  private paused = false;

  constructor(private readonly options: WorkloadOptions) {
    this.journalPath = join(options.dir, 'journal.jsonl');
    this.ranPath = join(options.dir, 'ran');
  }

  get pid(): number | undefined {
    const child = this.child;
    return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Starts it (again, after a kill: same journal, same framework). */
  start(): void {
    const { master, long = 50, short = 6, shortSeconds = 1 } = this.options;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'test', 'ha', 'workload.ts'),
        '--master',
        master,
        '--journal',
        this.journalPath,
        '--ran',
        this.ranPath,
        '--long',
        String(long),
        '--short',
        String(short),
        '--short_seconds',
        String(shortSeconds),
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    this.paused = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr.push(chunk.toString());
      if (this.stderr.length > 200) this.stderr.shift();
    });
    this.exited = once(child, 'exit');
  }

  signal(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) return;
    process.kill(pid, signal);
    if (signal === 'SIGSTOP') this.paused = true;
    if (signal === 'SIGCONT') this.paused = false;
  }

  /** SIGKILL, then the same framework again. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** No more launches from now on (it checks a file, so a restart keeps to it). */
  stopLaunching(): void {
    writeFileSync(`${this.journalPath}.stop`, '');
  }

  journal(): JournalEntry[] {
    return readJournal(this.journalPath);
  }

  /** Entries after `sinceMs` (wall clock, as journaled). */
  since(sinceMs: number): JournalEntry[] {
    return this.journal().filter((e) => e.t >= sinceMs);
  }

  /** Waits for an entry after `sinceMs` matching `match`. */
  waitFor(
    what: string,
    sinceMs: number,
    match: (entry: JournalEntry) => boolean,
    timeoutMs = 60_000,
  ): Promise<JournalEntry> {
    return waitFor(
      `the framework: ${what}`,
      () => {
        if (this.pid === undefined && this.child !== undefined)
          throw new Error(`the framework exited: ${this.stderr.join('')}`);
        return this.since(sinceMs).find(match);
      },
      timeoutMs,
    );
  }

  output(): string {
    return this.stderr.join('').slice(-4000);
  }

  async stop(): Promise<void> {
    if (this.pid === undefined) return;
    if (this.paused) this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
