#!/usr/bin/env node
// Bundles src/ into dist/ ahead of time. The CLI and the daemons run this
// compiled JavaScript, never a run-time transpiler: `agora run` must start a task
// faster than `srun` does (#3), and every module loaded at start-up counts.
//
// dist/agora.js is only the command table; each subcommand is its own bundle in
// dist/commands/, loaded when that command runs. Separate bundles, not shared
// chunks: esbuild assigns whole files to chunks by import reachability, so a
// barrel (index.ts) shared by `run` and the daemons would drag the daemons'
// dependencies (zod, pino) into `agora run`'s start-up. Each bundle here is
// tree-shaken on its own.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const COMMANDS = ['run', 'up', 'tables', 'daemons'];

/** `import('./run.js')` in main.ts stays a run-time import of dist/commands/run.js. */
const lazyCommands = {
  name: 'lazy-commands',
  setup(esbuild) {
    const pattern = new RegExp(`^\\./(${COMMANDS.join('|')})\\.js$`);
    esbuild.onResolve({ filter: pattern }, (args) =>
      args.importer.endsWith(join('src', 'cli', 'main.ts'))
        ? { path: `./commands/${args.path.slice(2)}`, external: true }
        : undefined,
    );
  },
};

rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    agora: 'src/cli/main.ts',
    ...Object.fromEntries(COMMANDS.map((name) => [`commands/${name}`, `src/cli/${name}.ts`])),
  },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  plugins: [lazyCommands],
  logLevel: 'warning',
});
