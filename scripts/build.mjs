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
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/**
 * The protobuf descriptor of src/wire/proto/*.proto, compiled here once with the same
 * module the sources use (compile.ts, which loads protobufjs and parses the files).
 */
async function compileProtoDescriptor() {
  const compiler = join(root, 'dist', 'build', 'compile-protos.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['src/wire/proto/compile.ts'],
    outfile: compiler,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  try {
    const { compileProtos } = await import(pathToFileURL(compiler).href);
    return compileProtos(pathToFileURL(join(root, 'src', 'wire', 'proto', '/')));
  } finally {
    rmSync(dirname(compiler), { recursive: true, force: true });
  }
}

/**
 * In the bundles, compile.ts is replaced by the descriptor it compiles: `agora run
 * --codec protobuf` and the daemons then neither load protobufjs nor read .proto files
 * (protobufjs's import and parse cost tens of milliseconds of start-up; see the README).
 */
function precompiledProtos(descriptor) {
  const source = `export function compileProtos() { return JSON.parse(${JSON.stringify(JSON.stringify(descriptor))}); }\n`;
  return {
    name: 'precompiled-protos',
    setup(esbuild) {
      esbuild.onLoad({ filter: /[\\/]src[\\/]wire[\\/]proto[\\/]compile\.ts$/ }, () => ({
        contents: source,
        loader: 'js',
      }));
    },
  };
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
const protoDescriptor = await compileProtoDescriptor();
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
  plugins: [lazyCommands, precompiledProtos(protoDescriptor)],
  logLevel: 'warning',
});
