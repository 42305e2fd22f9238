#!/usr/bin/env node
// Bundles src/ into dist/ ahead of time. The CLI and the daemons run this
// compiled JavaScript, never a run-time transpiler: `agora run` must start a
// task within 10 ms of a bare `node -e 0` (#7 item 17), and every module
// loaded at start-up counts.
//
// dist/agora.cjs is only the command table; each subcommand is its own bundle
// in dist/commands/, required when that command runs. Separate bundles, not
// shared chunks: esbuild assigns whole files to chunks by import reachability,
// so a barrel (index.ts) shared by `run` and the daemons would drag the
// daemons' dependencies (zod, pino) into `agora run`'s start-up. Each bundle
// here is tree-shaken on its own.
//
// What `agora run`'s start costs, and what was done about it (measured on the
// 2-vCPU AMD EPYC VM of bench/RESULTS.md, NODE_EXTRA_CA_CERTS unset; numbers
// and method there, under "Task start latency after #7"):
// - CommonJS, not ES modules. An ES module entry's first line ran 10-13 ms
//   after node's bootstrap, a CommonJS one's 3 ms (wall time on a busy
//   machine; about 4 ms of CPU): node 20 sets up its ESM loader for the first
//   `import`. So the bundles are .cjs, bin/agora.js is CommonJS
//   (bin/package.json), and commands are require()d.
// - node:assert (2-3 ms: its error formatting, colours, call tracker) is
//   replaced in the run bundle by scripts/shims/assert.cjs, which keeps the
//   two calls that code makes. The daemons keep the real one.
// - Minified, with names kept (errors are told apart by name): 85 KB to 49 KB
//   to read and compile.
// - node:http is off the path: its first request cost ~6 ms of CPU in a fresh
//   process (ClientRequest, agent, parser, lazily loaded internals) against
//   about 1 ms for a raw socket, so the scheduler client speaks HTTP/1.1 on
//   node:net (src/sdk/lean-http.ts) and node:http loads only when /files or a
//   master's JSON page is first read.
// - A V8 code cache, first measured at 2 ms of CPU on a full run and rejected,
//   is now used for `agora run`'s bundle (bin/code-cache.js): made at the exit
//   of the first run that launched a task, it holds the bytecode of the whole
//   path to the task's start, and took 5-6 ms of CPU off each run in paired
//   runs (bench/RESULTS.md, "Task start, fourth pass").
// - `agora run` starts from its own bundle (dist/agora-run.cjs, src/cli/run-main.ts):
//   the run command's spec and code without the table of every command.
// Measured and rejected:
// - A V8 start-up snapshot (`node --snapshot-blob snap.blob --build-snapshot`):
//   node 20 takes the blob only as a command-line flag, which
//   `#!/usr/bin/env node` cannot pass, so bin/agora.js would start a second
//   node with it; that re-exec measured 62 ms against 48 ms for the whole
//   CommonJS CLI, and node 20 will not put node:http in a snapshot. Measured
//   again (fourth pass, 20 alternating runs each, load 15): `node -e 0` 24.8 ms
//   of CPU, node with a trivial snapshot blob 30.1 ms, a node that re-execs into
//   it 61.3 ms, against ~44 ms for a whole `agora run` refused at once.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const COMMANDS = ['run', 'up', 'tables', 'daemons', 'task', 'jobs', 'services'];
/** Bundles on the path of a task's start: minified, with the assert shim. */
const LEAN = new Set(['agora', 'agora-run', 'commands/run']);
/** Bundles bin/agora.js loads with a V8 code cache (bin/code-cache.js): they carry BUILD_ID_BANNER. */
const CODE_CACHED = new Set(['agora-run']);
/**
 * The first line of a code-cached bundle: `//agora-build:` and the SHA-256 of the bundle
 * as written with zeros in its place, so a cache made for another build is never used.
 * Same length before and after, so the source map's lines and columns stay right.
 */
const BUILD_ID_PREFIX = '//agora-build:';
const BUILD_ID_BANNER = `${BUILD_ID_PREFIX}${'0'.repeat(64)}`;

/**
 * `import('./run.js')` in main.ts becomes `require('./commands/run.cjs')`, run
 * when the command runs: through a small module of its own, since esbuild
 * leaves an external dynamic import() as import(), which would start node's
 * ESM loader after all.
 */
const lazyCommands = {
  name: 'lazy-commands',
  setup(esbuild) {
    const pattern = new RegExp(`^\\./(${COMMANDS.join('|')})\\.js$`);
    const tables = [join('src', 'cli', 'main.ts'), join('src', 'cli', 'run-spec.ts')];
    esbuild.onResolve({ filter: pattern }, (args) =>
      tables.some((table) => args.importer.endsWith(table))
        ? { path: args.path.slice(2, -3), namespace: 'lazy-command' }
        : undefined,
    );
    esbuild.onLoad({ filter: /.*/, namespace: 'lazy-command' }, (args) => ({
      contents: `module.exports = require('./commands/${args.path}.cjs');`,
      loader: 'js',
    }));
    esbuild.onResolve({ filter: /^\.\/commands\//, namespace: 'lazy-command' }, (args) => ({
      path: args.path,
      external: true,
    }));
  },
};

const assertShim = {
  name: 'assert-shim',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^(node:)?assert$/ }, () => ({
      path: join(root, 'scripts', 'shims', 'assert.cjs'),
    }));
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

/**
 * In the lean bundles, load.ts's dynamic imports of the codec and the descriptor
 * become one `require('./proto.cjs')`, a bundle of its own (on-demand.ts): a JSON
 * client never reads or compiles the descriptor (it added 3 ms of CPU, ~4%, to a
 * refused `agora run`).
 */
function protoOnDemand(bundleName) {
  // The path from the bundle's folder in dist/ to dist/commands/proto.cjs.
  const protoPath = bundleName.startsWith('commands/') ? './proto.cjs' : './commands/proto.cjs';
  return {
    name: 'proto-on-demand',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^\.\/(codec|compile)\.js$/ }, (args) =>
        args.importer.endsWith(join('src', 'wire', 'proto', 'load.ts'))
          ? { path: 'proto', namespace: 'proto-on-demand' }
          : undefined,
      );
      esbuild.onLoad({ filter: /.*/, namespace: 'proto-on-demand' }, () => ({
        contents: `module.exports = require('${protoPath}');`,
        loader: 'js',
      }));
      esbuild.onResolve({ filter: /proto\.cjs$/, namespace: 'proto-on-demand' }, (args) => ({
        path: args.path,
        external: true,
      }));
    },
  };
}

/**
 * The web UI (src/webui, preact) into dist/webui: index.html and content-hashed
 * assets, which the master serves at `/` (src/master/http/web-ui.ts). vite is a
 * dev dependency and is loaded only here.
 */
async function buildWebUi() {
  const { build: viteBuild } = await import('vite');
  await viteBuild({
    root: join(root, 'src', 'webui'),
    configFile: false,
    base: '/',
    logLevel: 'warn',
    clearScreen: false,
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      outDir: join(root, 'dist', 'webui'),
      emptyOutDir: true,
      assetsDir: 'assets',
      target: 'es2022',
      // Inline scripts would need a looser Content-Security-Policy.
      modulePreload: { polyfill: false },
      reportCompressedSize: false,
    },
  });
}

/** Writes the bundle's content hash into its BUILD_ID_BANNER. */
function stampBuildId(file) {
  const text = readFileSync(file, 'utf8');
  if (!text.startsWith(BUILD_ID_BANNER))
    throw new Error(`${file} does not start with the build-id banner`);
  const hash = createHash('sha256').update(text).digest('hex');
  writeFileSync(file, `${BUILD_ID_PREFIX}${hash}${text.slice(BUILD_ID_BANNER.length)}`);
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
const webUi = buildWebUi();
const protoDescriptor = await compileProtoDescriptor();
const entries = {
  agora: 'src/cli/main.ts',
  // `agora run`'s own entry: its flags and code in one bundle, without the command table.
  'agora-run': 'src/cli/run-main.ts',
  ...Object.fromEntries(COMMANDS.map((name) => [`commands/${name}`, `src/cli/${name}.ts`])),
  'commands/proto': 'src/wire/proto/on-demand.ts',
};
await Promise.all(
  Object.entries(entries).map(([name, entry]) =>
    build({
      absWorkingDir: root,
      entryPoints: { [name]: entry },
      outdir: 'dist',
      outExtension: { '.js': '.cjs' },
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      minify: LEAN.has(name),
      keepNames: true,
      ...(CODE_CACHED.has(name) ? { banner: { js: BUILD_ID_BANNER } } : {}),
      plugins: LEAN.has(name)
        ? [...(name === 'agora-run' ? [] : [lazyCommands]), assertShim, protoOnDemand(name)]
        : [lazyCommands, precompiledProtos(protoDescriptor)],
      logLevel: 'warning',
    }),
  ),
);
for (const name of CODE_CACHED) stampBuildId(join(root, 'dist', `${name}.cjs`));
await webUi;
// dist/ is CommonJS whatever the root package.json says.
writeFileSync(join(root, 'dist', 'package.json'), '{ "type": "commonjs" }\n');
