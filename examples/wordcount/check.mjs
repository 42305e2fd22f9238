#!/usr/bin/env node
// Counts the corpus in one process and compares with the jobs' result:
// `node check.mjs <dir>` exits 0 when <dir>/result.tsv equals the count of <dir>/corpus/*.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir] = process.argv.slice(2);
if (dir === undefined) {
  console.error('usage: node check.mjs <dir>');
  process.exit(2);
}
const counts = new Map();
for (const file of readdirSync(join(dir, 'corpus')))
  for (const word of readFileSync(join(dir, 'corpus', file), 'utf8').split(/\s+/))
    if (word !== '') counts.set(word, (counts.get(word) ?? 0) + 1);
const result = new Map();
for (const line of readFileSync(join(dir, 'result.tsv'), 'utf8').split('\n')) {
  if (line === '') continue;
  const [word, count] = line.split('\t');
  result.set(word, Number(count));
}
const wrong = [...new Set([...counts.keys(), ...result.keys()])].filter(
  (word) => counts.get(word) !== result.get(word),
);
const total = [...counts.values()].reduce((a, b) => a + b, 0);
if (wrong.length > 0) {
  console.error(
    `${wrong.length} words differ, e.g. ${wrong
      .slice(0, 5)
      .map((w) => `${w}: ${counts.get(w)} vs ${result.get(w)}`)
      .join(', ')}`,
  );
  process.exit(1);
}
console.log(`ok: ${counts.size} distinct words, ${total} in all, match the single-process count`);
