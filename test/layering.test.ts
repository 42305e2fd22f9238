// Reads every import under src/ and fails on one that breaks the layering of
// ARCHITECTURE.md and STYLE.md ("Layout and dependency direction").
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Folder -> the other folders it may import (through their index.js only). */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  wire: [],
  resources: ['wire'],
  allocator: ['wire', 'resources'],
  placement: ['wire', 'resources'],
  registry: ['wire', 'resources'],
  coordination: ['wire'],
  runtime: ['wire'],
  containerizer: ['wire', 'resources'],
  executor: ['wire', 'resources', 'containerizer', 'sdk'],
  sdk: ['wire', 'resources', 'placement', 'coordination'],
  master: ['wire', 'resources', 'allocator', 'registry', 'coordination', 'runtime', 'sdk'],
  agent: ['wire', 'resources', 'containerizer', 'executor', 'runtime', 'sdk'],
  frameworks: ['wire', 'resources', 'placement', 'sdk'],
  cli: ['*'],
  sim: ['wire', 'resources', 'allocator', 'placement'],
  webui: ['wire'],
};

/** Pure folders: no npm packages, and of Node's modules only node:assert. */
const PURE = new Set(['resources', 'allocator', 'placement']);
const PURE_NODE_MODULES = new Set(['node:assert']);
/** Files outside src/ that src/ may read: wire/version.ts takes Agora's version from here. */
const OUTSIDE_SRC_ALLOWED = new Set(['package.json']);

export interface SourceFile {
  /** Relative to the repository root, '/'-separated: 'src/wire/json.ts'. */
  readonly path: string;
  readonly text: string;
}

/**
 * Every module specifier of a file: static imports (type-only ones too), `export … from`,
 * side-effect imports, and `import('…')` with a literal. Comments and strings do not count.
 */
export function importSpecifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

/** The folder of a path under src/, or undefined for a file directly in src/. */
function folderOf(path: string): string | undefined {
  const parts = path.split('/');
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : undefined;
}

/** Every layering violation in `files`, one line each; empty when all is well. */
export function layeringViolations(files: readonly SourceFile[]): string[] {
  const violations: string[] = [];
  const unknownFolders = new Set<string>();
  for (const file of files) {
    const folder = folderOf(file.path);
    if (folder === undefined) {
      violations.push(`${file.path} is in no folder of src/`);
      continue;
    }
    const allowed = ALLOWED[folder];
    if (allowed === undefined) {
      if (!unknownFolders.has(folder))
        violations.push(`src/${folder}/ is not in the layering table: decide what it may import`);
      unknownFolders.add(folder);
      continue;
    }
    for (const specifier of importSpecifiers(file.text)) {
      const where = `${file.path} imports '${specifier}'`;
      if (!specifier.startsWith('.')) {
        if (!PURE.has(folder)) continue;
        if (specifier.startsWith('node:')) {
          if (!PURE_NODE_MODULES.has(specifier))
            violations.push(`${where}: ${folder} may use only node:assert of Node's modules`);
        } else violations.push(`${where}: ${folder} may not use npm packages`);
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(file.path), specifier));
      if (!target.startsWith('src/')) {
        if (!OUTSIDE_SRC_ALLOWED.has(target)) violations.push(`${where}: outside src/`);
        continue;
      }
      // '../wire' names a folder; '../version.js' a file directly in src/.
      const targetFolder =
        folderOf(target) ?? (posix.extname(target) === '' ? target.split('/')[1] : undefined);
      if (targetFolder === folder) continue;
      if (targetFolder === undefined) {
        violations.push(`${where}: a file in no folder of src/`);
        continue;
      }
      if (target !== `src/${targetFolder}/index.js`)
        violations.push(`${where}: import ../${targetFolder}/index.js, not a deeper file`);
      const isAllowed =
        allowed.includes(targetFolder) ||
        (allowed.includes('*') && ALLOWED[targetFolder] !== undefined);
      if (!isAllowed) violations.push(`${where}: ${folder} may not import ${targetFolder}`);
    }
  }
  return violations;
}

function readSources(root: string): SourceFile[] {
  return readdirSync(`${root}/src`, { recursive: true, encoding: 'utf8' })
    .map((relative) => `src/${relative.split('\\').join('/')}`)
    .filter((path) => /\.tsx?$/.test(path))
    .sort()
    .map((path) => ({ path, text: readFileSync(`${root}/${path}`, 'utf8') }));
}

test('layering of src holds: index-only imports, allowed directions, pure folders', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const files = readSources(root);
  // Guard against passing vacuously: the scan must see the tree and its imports.
  assert.ok(files.length > 50, `only ${files.length} files found under src/`);
  assert.ok(files.some((f) => f.path === 'src/wire/index.ts'));
  assert.ok(files.some((f) => f.path === 'src/allocator/hierarchical-allocator.ts'));
  const imports = files.flatMap((f) => importSpecifiers(f.text));
  assert.ok(imports.filter((s) => s === '../wire/index.js').length > 10);
  assert.deepEqual(layeringViolations(files), []);
});

const file = (path: string, ...lines: string[]): SourceFile => ({ path, text: lines.join('\n') });

test('layering checker collects static, type-only, re-export and dynamic imports', () => {
  const text = [
    "import type { A } from './a.js';",
    "import { b } from '../wire/index.js';",
    "export * from './c.js';",
    "export { d } from './d.js';",
    "import './e.js';",
    "const f = await import('./f.js');",
    "// import g from './commented.js';",
    'const h = "import i from \'./in-a-string.js\'";',
    'const j = await import(name);',
  ].join('\n');
  assert.deepEqual(importSpecifiers(text), [
    './a.js',
    '../wire/index.js',
    './c.js',
    './d.js',
    './e.js',
    './f.js',
  ]);
});

test('layering checker accepts imports that follow the rules', () => {
  const files = [
    file('src/wire/index.ts', "export * from './json.js';"),
    file('src/wire/json.ts', 'export const x = 1;'),
    file('src/resources/resources.ts', "import assert from 'node:assert';"),
    file('src/resources/index.ts', "import { x } from '../wire/index.js';", "import './sub/a.js';"),
    file('src/resources/sub/a.ts', "import { x } from '../../wire/index.js';"),
    file('src/master/master.ts', "import { z } from 'zod';", "import { once } from 'node:events';"),
    file('src/master/more.ts', "import type { A } from '../allocator/index.js';"),
    file('src/cli/main.ts', "const m = await import('../master/index.js');"),
    file('src/cli/up.ts', "import { s } from '../sim/index.js';"),
  ];
  assert.deepEqual(layeringViolations(files), []);
});

test('layering checker reports every broken rule with the file and import', () => {
  const cases: [name: string, files: SourceFile[], expected: RegExp[]][] = [
    [
      'a deep import of another folder',
      [file('src/master/a.ts', "import { toAsciiJson } from '../wire/json.js';")],
      [/src\/master\/a\.ts imports '\.\.\/wire\/json\.js'.*index\.js/],
    ],
    [
      'an import of a folder without index.js',
      [file('src/agent/a.ts', "import { x } from '../wire';")],
      [/'\.\.\/wire'.*index\.js/],
    ],
    [
      'an upward import',
      [file('src/wire/a.ts', "import type { Resources } from '../resources/index.js';")],
      [/wire may not import resources/],
    ],
    [
      'master and agent importing each other',
      [
        file('src/master/a.ts', "export { Agent } from '../agent/index.js';"),
        file('src/agent/a.ts', "const m = await import('../master/index.js');"),
      ],
      [/master may not import agent/, /agent may not import master/],
    ],
    [
      'a deep, upward import reported both ways',
      [file('src/allocator/a.ts', "import { x } from '../master/books.js';")],
      [/index\.js, not a deeper file/, /allocator may not import master/],
    ],
    [
      'a pure folder using npm or Node modules',
      [
        file(
          'src/resources/a.ts',
          "import { z } from 'zod';",
          "import { readFile } from 'node:fs';",
          "import assert from 'node:assert/strict';",
          "import { format } from 'util';",
        ),
        file('src/placement/a.ts', "import { setTimeout } from 'node:timers/promises';"),
        file('src/allocator/a.ts', "const p = await import('pino');"),
      ],
      [
        /resources\/a\.ts imports 'zod': resources may not use npm packages/,
        /'node:fs': resources may use only node:assert/,
        /'node:assert\/strict': resources may use only node:assert/,
        /'util': resources may not use npm packages/,
        /'node:timers\/promises': placement may use only node:assert/,
        /'pino': allocator may not use npm packages/,
      ],
    ],
    [
      'a folder missing from the table, reported once',
      [file('src/gateway/a.ts'), file('src/gateway/b.ts', "import './a.js';")],
      [/src\/gateway\/ is not in the layering table/],
    ],
    [
      'cli importing a folder missing from the table',
      [file('src/cli/a.ts', "import { g } from '../gateway/index.js';")],
      [/cli may not import gateway/],
    ],
    [
      'a file directly in src',
      [
        file('src/main.ts', "import { x } from './wire/index.js';"),
        file('src/runtime/a.ts', "import { v } from '../version.js';"),
      ],
      [/src\/main\.ts is in no folder/, /'\.\.\/version\.js': a file in no folder/],
    ],
    [
      'an import from outside src other than package.json',
      [
        file('src/sdk/a.ts', "import { h } from '../../test/integration/harness.js';"),
        file('src/wire/v.ts', "import p from '../../package.json' with { type: 'json' };"),
      ],
      [/sdk\/a\.ts imports '\.\.\/\.\.\/test\/integration\/harness\.js': outside src/],
    ],
  ];
  for (const [name, files, expected] of cases) {
    const violations = layeringViolations(files);
    assert.equal(violations.length, expected.length, `${name}: ${violations.join('\n')}`);
    for (const [i, pattern] of expected.entries()) assert.match(violations[i] ?? '', pattern, name);
  }
});

/** The src/ file an import names, or undefined for packages and Node's modules. */
function resolveImport(
  from: string,
  specifier: string,
  paths: ReadonlySet<string>,
): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  for (const candidate of [target.replace(/\.js$/, '.ts'), `${target}.ts`, `${target}/index.ts`])
    if (paths.has(candidate)) return candidate;
  return undefined;
}

/**
 * Every import cycle among `files` (type-only imports count: they couple the
 * files as much), each as the list of files around it, smallest first.
 */
export function importCycles(files: readonly SourceFile[]): string[][] {
  const paths = new Set(files.map((f) => f.path));
  const edges = new Map<string, string[]>();
  for (const f of files)
    edges.set(
      f.path,
      importSpecifiers(f.text).flatMap((s) => {
        const target = resolveImport(f.path, s, paths);
        return target === undefined ? [] : [target];
      }),
    );
  // Tarjan's strongly connected components: a component of more than one file is a cycle.
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next))
        low.set(node, Math.min(low.get(node) ?? 0, indexOf.get(next) ?? 0));
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      for (;;) {
        const top = stack.pop();
        if (top === undefined) break;
        onStack.delete(top);
        component.push(top);
        if (top === node) break;
      }
      const isSelfLoop = (edges.get(node) ?? []).includes(node);
      if (component.length > 1 || isSelfLoop) cycles.push(component.sort());
    }
  };
  for (const f of files) if (!indexOf.has(f.path)) visit(f.path);
  return cycles.sort((a, b) => a.length - b.length);
}

test('src has no import cycle, type-only imports included', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cycles = importCycles(readSources(root));
  assert.deepEqual(
    cycles.map((cycle) => cycle.join(' <-> ')),
    [],
    'files that import each other, directly or around a loop',
  );
});

test('import cycle finder reports loops, including type-only ones, and nothing else', () => {
  const files = [
    file('src/master/a.ts', "import type { B } from './b.js';"),
    file('src/master/b.ts', "import { c } from './c.js';"),
    file('src/master/c.ts', "export { a } from './a.js';"),
    file('src/master/d.ts', "import { a } from './a.js';", "import '../wire/index.js';"),
    file('src/wire/index.ts', "export * from './json.js';"),
    file('src/wire/json.ts', "import { z } from 'zod';"),
  ];
  assert.deepEqual(importCycles(files), [
    ['src/master/a.ts', 'src/master/b.ts', 'src/master/c.ts'],
  ]);
});

/** The phrase that must open the header of a file over the limit, with the reason after it. */
const LONG_FILE_REASON = 'Long file:';
const LONG_FILE_LINES = 500;

test(`src files stay under ${LONG_FILE_LINES} lines, or say at the top why not`, () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const unexplained = readSources(root)
    .filter((f) => f.text.split('\n').length > LONG_FILE_LINES)
    .filter((f) => !f.text.split('\n').slice(0, 15).join('\n').includes(LONG_FILE_REASON))
    .map((f) => `${f.path} (${f.text.split('\n').length} lines)`);
  assert.deepEqual(unexplained, [], `add '// ${LONG_FILE_REASON} <why>' near the top, or split it`);
});
