// The containerizer's ledger of the cgroups it made: an id is recorded before its
// cgroup is made and forgotten once the cgroup is gone, so a restarted agent removes
// exactly the cgroups its crash left (several agents may share --cgroups_root).
//
// One append-only file, a line per change (`+<id>`, `-<id>`), where there was one
// empty file per container: on this host's ext4 (no journal) each inode made costs a
// scan past every inode freed in the last minutes, ~0.3-0.4 ms of kernel time under
// everyone's churn, and each file deleted makes later creates dearer (bench/RESULTS.md,
// #9). An append is one write to a file that exists. The file is rewritten with the
// live ids (a temporary renamed into place, whole or not at all) when it is first read
// and whenever enough lines have piled up since, so it stays small.
//
// Crash safety: an append is one write(2) of one short line, so a crash leaves whole
// lines and at most a torn last one, which is skipped (a torn `+` belongs to a cgroup
// not made yet; a torn `-` to one already removed, which recovery finds gone). A
// ledger of the older layout (a file per id in the same directory) is read too and
// folded into the file on first use.
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** The ledger's file in its directory; no container id starts with a dot. */
export const LEDGER_FILE = '.ledger';
/** Lines appended before the file is rewritten with the live ids alone. */
const COMPACT_AFTER_LINES = 4096;

/** The ids a ledger's text leaves live, in the order they were first recorded. Pure. */
export function parseLedger(text: string): string[] {
  const live = new Set<string>();
  for (const line of text.split('\n')) {
    const id = line.slice(1);
    if (!isLedgerId(id)) continue;
    if (line.startsWith('+')) live.add(id);
    else if (line.startsWith('-')) live.delete(id);
  }
  return [...live];
}

/** A container id as the ledger writes it: one path component, no newline or dot first. */
function isLedgerId(id: string): boolean {
  return id !== '' && !id.startsWith('.') && !/[/\n\0]/.test(id);
}

/**
 * The ids recorded in the ledger at `dir` now, read from disk (for a test, or another
 * process); the containerizer's own CgroupLedger keeps them in memory.
 */
export function ledgerIds(dir: string): string[] {
  return [...readLedger(dir).ids];
}

function readLedger(dir: string): { readonly ids: Set<string>; readonly oldFiles: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { ids: new Set(), oldFiles: [] };
  }
  let text = '';
  try {
    text = readFileSync(join(dir, LEDGER_FILE), 'utf8');
  } catch {
    // No file yet: a fresh ledger, or one of the older layout.
  }
  const ids = new Set(parseLedger(text));
  // The older layout: an empty file per id, beside (or instead of) the ledger file.
  const oldFiles = names.filter(isLedgerId);
  for (const name of oldFiles) ids.add(name);
  return { ids, oldFiles };
}

export class CgroupLedger {
  private ids: Set<string> | undefined;
  private linesSinceCompaction = 0;

  constructor(private readonly dir: string) {}

  /** The ids recorded and not forgotten. */
  entries(): string[] {
    return [...this.load()];
  }

  /** Records `id`, before its cgroup is made. */
  record(id: string): void {
    if (!isLedgerId(id)) throw new Error(`container id '${id}' cannot be recorded in the ledger`);
    const ids = this.load();
    ids.add(id);
    this.append(`+${id}\n`);
  }

  /** Forgets `id`, once its cgroup is gone (or renamed to another recorded id). */
  forget(id: string): void {
    const ids = this.load();
    if (!ids.delete(id)) return;
    try {
      this.append(`-${id}\n`);
    } catch {
      // A full disk: the line left behind names a cgroup that is gone, which the next
      // recovery finds so and forgets; failing here failed the recovery itself.
    }
  }

  private append(line: string): void {
    this.linesSinceCompaction += 1;
    if (this.linesSinceCompaction >= COMPACT_AFTER_LINES && this.tryCompact()) return;
    appendFileSync(join(this.dir, LEDGER_FILE), line);
  }

  /** The live ids, read once from disk (folding in the older layout's files). */
  private load(): Set<string> {
    if (this.ids !== undefined) return this.ids;
    mkdirSync(this.dir, { recursive: true });
    const { ids, oldFiles } = readLedger(this.dir);
    this.ids = ids;
    // The file names them now: the older layout's files can go. Only tidying: on a full
    // disk (ENOSPC) the agent, killed and restarted, must still start and recover.
    if (this.tryCompact())
      for (const name of oldFiles) rmSync(join(this.dir, name), { force: true });
    return ids;
  }

  /** Compacts unless the disk refuses (the file as it was is kept); whether it did. */
  private tryCompact(): boolean {
    try {
      this.compact();
      return true;
    } catch {
      rmSync(join(this.dir, `${LEDGER_FILE}.tmp`), { force: true });
      return false;
    }
  }

  /** Rewrites the file with the live ids alone, whole or not at all. */
  private compact(): void {
    const ids = this.ids ?? new Set<string>();
    const file = join(this.dir, LEDGER_FILE);
    const text = [...ids].map((id) => `+${id}\n`).join('');
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    this.linesSinceCompaction = 0;
  }
}
