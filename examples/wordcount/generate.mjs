#!/usr/bin/env node
// Writes a word-count corpus: `node generate.mjs <dir> <shards> <words per shard> [seed]` makes
// <dir>/corpus/shard-<i>.txt, words drawn from a Zipf-like vocabulary with a seeded generator,
// so a corpus of any size is the same for the same arguments.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, shardsText = '8', wordsText = '100000', seedText = '1'] = process.argv.slice(2);
if (dir === undefined) {
  console.error('usage: node generate.mjs <dir> <shards> <words per shard> [seed]');
  process.exit(2);
}
const shards = Number(shardsText);
const words = Number(wordsText);
let state = Number(seedText) >>> 0 || 1;
const random = () => {
  // xorshift32: small, seeded, good enough for a corpus.
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};
const vocabulary = Array.from({ length: 5000 }, (_, i) => {
  let word = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / 26)) word += String.fromCharCode(97 + (n % 26));
  return word;
});
mkdirSync(join(dir, 'corpus'), { recursive: true });
for (let s = 0; s < shards; s++) {
  const lines = [];
  let line = [];
  for (let w = 0; w < words; w++) {
    // Zipf-like: rank r with probability ~ 1/r.
    const rank = Math.floor(vocabulary.length ** random()) - 1;
    line.push(vocabulary[rank]);
    if (line.length === 12) {
      lines.push(line.join(' '));
      line = [];
    }
  }
  if (line.length > 0) lines.push(line.join(' '));
  writeFileSync(join(dir, 'corpus', `shard-${s}.txt`), `${lines.join('\n')}\n`);
}
console.log(`${shards} shards of ${words} words in ${join(dir, 'corpus')}`);
