import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrictSubroleOf, roleAncestors, roleError } from '../../src/resources/index.js';

test('roleError accepts valid roles', () => {
  for (const role of ['*', 'eng', 'eng/web', 'a/b/c', 'a.b', 'a-b', 'a*', '...', 'x-', 'ünï']) {
    assert.equal(roleError(role), undefined, role);
  }
});

test('roleError explains invalid roles', () => {
  const cases: [role: string, reason: RegExp][] = [
    ['', /must not be empty/],
    ['/eng', /'\/eng' must not start with '\/'/],
    ['eng/', /'eng\/' must not end with '\/'/],
    ['a//b', /'a\/\/b' must not contain '\/\/'/],
    ['.', /'\.' as a component/],
    ['..', /'\.\.' as a component/],
    ['eng/..', /'\.\.' as a component/],
    ['eng/.', /'\.' as a component/],
    ['eng/*', /'\*' as a component/],
    ['*/eng', /'\*' as a component/],
    ['-eng', /component '-eng' starting with '-'/],
    ['eng/-web', /component '-web' starting with '-'/],
    ['my role', /whitespace/],
    ['eng\tweb', /whitespace/],
    ['eng\n', /whitespace/],
  ];
  for (const [role, reason] of cases) assert.match(roleError(role) ?? 'valid', reason, role);
});

test('roleError takes what Mesos takes: backslash, non-ASCII and Unicode spaces', () => {
  // roles::validate in Mesos refuses only ASCII whitespace and DEL among characters.
  for (const role of ['a\\b', 'eng\u00a0web', 'ünï/ßß', `${'c'.repeat(255)}/${'d'.repeat(255)}`]) {
    assert.equal(roleError(role), undefined, role);
  }
});

test('roleError refuses control characters and roles over the length limits', () => {
  const cases: [role: string, reason: RegExp][] = [
    ['eng\u007f', /control character U\+007f/],
    ['eng\u0000web', /control character U\+0000/],
    ['eng\u001b[31m', /control character U\+001b/],
    ['eng\u000bweb', /whitespace/],
    [`eng/${'c'.repeat(256)}`, /has component 'c+…' \(256 characters\) longer than 255 bytes/],
    // 128 two-byte characters: 256 bytes, as a directory name counts them.
    [`eng/${'é'.repeat(128)}`, /longer than 255 bytes/],
    [Array.from({ length: 206 }, () => 'abcd').join('/'), /longer than 1024 bytes/],
    ['r'.repeat(5_000_000), /^role 'r+…' \(5000000 characters\) is longer than 1024 bytes$/],
  ];
  for (const [role, reason] of cases)
    assert.match(roleError(role) ?? 'valid', reason, role.slice(0, 20));
});

test('isStrictSubroleOf holds only below the ancestor', () => {
  const cases: [role: string, ancestor: string, expected: boolean][] = [
    ['eng/web', 'eng', true],
    ['eng/web/api', 'eng', true],
    ['eng/web/api', 'eng/web', true],
    ['eng', 'eng', false],
    ['eng', 'eng/web', false],
    ['engineering', 'eng', false],
    ['eng/web', 'web', false],
    ['eng', '*', false],
    ['*', '*', false],
  ];
  for (const [role, ancestor, expected] of cases) {
    assert.equal(isStrictSubroleOf(role, ancestor), expected, `${role} of ${ancestor}`);
  }
});

test('roleAncestors lists ancestors nearest first', () => {
  const cases: [role: string, ancestors: string[]][] = [
    ['a/b/c', ['a/b', 'a']],
    ['eng/web', ['eng']],
    ['eng', []],
    ['*', []],
  ];
  for (const [role, ancestors] of cases) assert.deepEqual(roleAncestors(role), ancestors, role);
});
