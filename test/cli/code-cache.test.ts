// bin/code-cache.js: `agora run`'s bundle runs with a V8 code cache made by the first run
// that got as far as a task, and never with a cache made for another build.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const LOADER = fileURLToPath(new URL('../../bin/code-cache.js', import.meta.url));
const { buildIdOf } = createRequire(import.meta.url)(LOADER) as {
  buildIdOf: (source: string) => string | undefined;
};

/** A bundle as the build writes it: the build-id line, then CommonJS code. */
function writeBundle(dir: string, body: string): string {
  const text = `${body}\n`;
  const file = join(dir, 'bundle.cjs');
  const id = createHash('sha256').update(text).digest('hex');
  writeFileSync(file, `//agora-build:${id}\n${text}`);
  return file;
}

interface Ran {
  readonly code: number;
  readonly stdout: string;
}

/**
 * Runs the bundle through the loader in a fresh node (from a file: `node -e` counts as a
 * node option); the bundle's code sets the exit status.
 */
function runBundle(file: string, nodeOptions: readonly string[] = []): Promise<Ran> {
  const driver = join(dirname(file), 'driver.cjs');
  writeFileSync(
    driver,
    `const used = require(${JSON.stringify(LOADER)}).runWithCodeCache(${JSON.stringify(file)});\nprocess.stdout.write('used=' + used + '\\n');\n`,
  );
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...nodeOptions, driver], { env }, (error, stdout) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout });
    });
  });
}

function withDir(body: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-code-cache-'));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Marks its run complete (as `agora run` does once its task ran) unless BUNDLE_COMPLETE=0. */
const BODY = [
  "const helper = require('./helper.cjs');",
  "process.stdout.write(['ran', helper(20), typeof module.exports, __filename.endsWith('bundle.cjs')].join(' ') + '\\n');",
  'process.exitCode = Number(process.env.BUNDLE_EXIT ?? 0);',
  "if (process.env.BUNDLE_COMPLETE !== '0') globalThis[Symbol.for('agora.code-cache.complete')] = true;",
].join('\n');

test(
  'code cache: a full run writes the cache, the next run uses it',
  withDir(async (dir) => {
    writeFileSync(join(dir, 'helper.cjs'), 'module.exports = (n) => n + 1;\n');
    const bundle = writeBundle(dir, BODY);
    const first = await runBundle(bundle);
    assert.equal(first.code, 0);
    assert.equal(first.stdout, 'ran 21 object true\nused=false\n');
    const cache = readFileSync(`${bundle}.v8cache`);
    assert.match(cache.subarray(0, 200).toString('latin1'), /^agora-v8-cache 1 [0-9a-f]{64} v\d+/);
    const second = await runBundle(bundle);
    assert.equal(second.stdout, 'ran 21 object true\nused=true\n');
  }),
);

test(
  'code cache: a run that did not go the whole way writes none, whatever its exit status',
  withDir(async (dir) => {
    writeFileSync(join(dir, 'helper.cjs'), 'module.exports = (n) => n;\n');
    const bundle = writeBundle(dir, BODY);
    for (const status of ['0', '125', '2']) {
      process.env.BUNDLE_EXIT = status;
      process.env.BUNDLE_COMPLETE = '0';
      try {
        const ran = await runBundle(bundle);
        assert.equal(ran.code, Number(status));
      } finally {
        delete process.env.BUNDLE_EXIT;
        delete process.env.BUNDLE_COMPLETE;
      }
      assert.equal(existsSync(`${bundle}.v8cache`), false);
    }
  }),
);

test(
  'code cache: `agora run --help` and a refused `agora run` leave no cache of their short path',
  withDir(async (dir) => {
    // The real bundle, in a directory of its own: dist/'s cache is not touched.
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
    const bundle = join(dir, 'agora-run.cjs');
    writeFileSync(bundle, readFileSync(join(dist, 'agora-run.cjs')));
    writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
    const driver = join(dir, 'agora.cjs');
    writeFileSync(
      driver,
      `require(${JSON.stringify(LOADER)}).runWithCodeCache(${JSON.stringify(bundle)});\n`,
    );
    const { NODE_OPTIONS: _ignored, ...env } = process.env;
    for (const args of [
      ['run', '--help'],
      ['run', '--master', '127.0.0.1:1', '--', 'true'],
    ]) {
      const code = await new Promise<number>((resolve) =>
        execFile(process.execPath, [driver, ...args], { env }, (error) =>
          resolve(typeof error?.code === 'number' ? error.code : 0),
        ),
      );
      assert.equal(code, args[1] === '--help' ? 0 : 125);
      assert.equal(existsSync(`${bundle}.v8cache`), false, args.join(' '));
    }
  }),
);

test(
  'code cache: a cache made for another build is not used, and is replaced',
  withDir(async (dir) => {
    writeFileSync(join(dir, 'helper.cjs'), 'module.exports = (n) => n * 2;\n');
    const old = writeBundle(dir, BODY);
    await runBundle(old);
    const oldCache = readFileSync(`${old}.v8cache`);
    // Same length, other code: V8 itself would take the old cache (it checks only the length).
    const rebuilt = writeBundle(dir, BODY.replace('helper(20)', 'helper(30)'));
    assert.equal(rebuilt, old);
    const ran = await runBundle(rebuilt);
    assert.equal(ran.stdout, 'ran 60 object true\nused=false\n');
    assert.notDeepEqual(readFileSync(`${rebuilt}.v8cache`), oldCache);
    assert.equal((await runBundle(rebuilt)).stdout, 'ran 60 object true\nused=true\n');
  }),
);

test(
  'code cache: a damaged cache is refused by V8 and the bundle still runs',
  withDir(async (dir) => {
    writeFileSync(join(dir, 'helper.cjs'), 'module.exports = (n) => n;\n');
    const bundle = writeBundle(dir, BODY);
    await runBundle(bundle);
    const cache = readFileSync(`${bundle}.v8cache`);
    const header = cache.subarray(0, cache.indexOf(0x0a) + 1);
    writeFileSync(`${bundle}.v8cache`, Buffer.concat([header, Buffer.alloc(4096, 0x5a)]));
    const ran = await runBundle(bundle);
    assert.equal(ran.stdout, 'ran 20 object true\nused=false\n');
    assert.equal((await runBundle(bundle)).stdout, 'ran 20 object true\nused=true\n');
  }),
);

test(
  'code cache: a bundle without a build id is required as it is',
  withDir(async (dir) => {
    const file = join(dir, 'plain.cjs');
    writeFileSync(file, "process.stdout.write('plain\\n');\n");
    assert.equal(buildIdOf(readFileSync(file, 'utf8')), undefined);
    const ran = await runBundle(file);
    assert.equal(ran.stdout, 'plain\nused=false\n');
    assert.equal(existsSync(`${file}.v8cache`), false);
  }),
);

test(
  'code cache: a node started with options of its own neither reads nor writes it',
  withDir(async (dir) => {
    writeFileSync(join(dir, 'helper.cjs'), 'module.exports = (n) => n;\n');
    const bundle = writeBundle(dir, BODY);
    const flagged = await runBundle(bundle, ['--max-semi-space-size=32']);
    assert.equal(flagged.stdout, 'ran 20 object true\nused=false\n');
    assert.equal(existsSync(`${bundle}.v8cache`), false);
    await runBundle(bundle);
    const cache = readFileSync(`${bundle}.v8cache`);
    assert.equal(
      (await runBundle(bundle, ['--max-semi-space-size=32'])).stdout,
      'ran 20 object true\nused=false\n',
    );
    assert.deepEqual(readFileSync(`${bundle}.v8cache`), cache);
    assert.equal((await runBundle(bundle)).stdout, 'ran 20 object true\nused=true\n');
  }),
);
