import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { completeUtf8Length } from '../../src/runtime/index.js';

const utf8 = (text: string) => Buffer.from(text, 'utf8');

test('complete utf8 length of ASCII is its whole length', () => {
  for (const text of ['', 'a', 'hello, world\n', '0123456789'])
    assert.equal(completeUtf8Length(utf8(text)), text.length, JSON.stringify(text));
});

test('complete utf8 length drops a character cut after any of its bytes', () => {
  const cases: [name: string, char: string][] = [
    ['2-byte é', 'é'],
    ['3-byte €', '€'],
    ['4-byte 😀', '😀'],
  ];
  for (const [name, char] of cases) {
    const bytes = utf8(`ab${char}`);
    const charBytes = bytes.length - 2;
    for (let kept = 1; kept < charBytes; kept++)
      assert.equal(
        completeUtf8Length(bytes.subarray(0, 2 + kept)),
        2,
        `${name} cut after byte ${kept}`,
      );
    assert.equal(completeUtf8Length(bytes), bytes.length, `${name} complete`);
  }
});

test('complete utf8 length keeps a whole multi-byte character at the very start or end', () => {
  const cases = ['é', '€', '😀', 'aé', 'a€', 'a😀', '😀😀', 'é€😀'];
  for (const text of cases) {
    const bytes = utf8(text);
    assert.equal(completeUtf8Length(bytes), bytes.length, text);
  }
});

test('complete utf8 length of any cut text decodes to a prefix with no replacement character', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\ufffd')),
      fc.nat(),
      (text, at) => {
        const bytes = utf8(text);
        const cut = bytes.subarray(0, at % (bytes.length + 1));
        const length = completeUtf8Length(cut);
        assert.ok(length <= cut.length && length >= cut.length - 3, `length ${length}`);
        const decoded = cut.subarray(0, length).toString('utf8');
        assert.ok(!decoded.includes('\ufffd'), `U+FFFD in ${JSON.stringify(decoded)}`);
        assert.ok(text.startsWith(decoded), `${JSON.stringify(decoded)} is not a prefix`);
        // Nothing complete is dropped: the next character does not fit in what was cut.
        const next = text.slice(decoded.length).codePointAt(0);
        if (next !== undefined)
          assert.ok(
            length + utf8(String.fromCodePoint(next)).length > cut.length,
            'a complete character was dropped',
          );
      },
    ),
    { numRuns: 500 },
  );
});
