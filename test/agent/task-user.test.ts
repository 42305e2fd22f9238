import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findPasswdUser, lookupHostUser, taskUserName } from '../../src/agent/task-user.js';
import { taskId } from '../../src/wire/index.js';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  'broken:x:abc:1::/:/bin/sh',
  '',
].join('\n');

test('passwd lookup finds a user by name with its ids, and nothing for an unknown or broken one', () => {
  assert.deepEqual(findPasswdUser(PASSWD, 'nobody'), {
    name: 'nobody',
    uid: 65534,
    gid: 65534,
    home: '/nonexistent',
  });
  assert.equal(findPasswdUser(PASSWD, 'nob'), undefined);
  assert.equal(findPasswdUser(PASSWD, 'broken'), undefined);
  assert.equal(findPasswdUser(PASSWD, ''), undefined);
});

test("a task runs as its command's user, else its executor's, else its framework's", () => {
  const framework = { user: 'fw', name: 'f' };
  const base = { name: 't', task_id: taskId('t'), agent_id: { value: 'a' } } as never;
  assert.equal(
    taskUserName({ ...(base as object), command: { user: 'cmd' } } as never, framework),
    'cmd',
  );
  assert.equal(taskUserName(base, framework), 'fw');
  assert.equal(taskUserName(base, { user: '', name: 'f' }), undefined);
});

test('a user added to the passwd file is found at the next lookup, and a removed one is gone', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-passwd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'passwd');
  writeFileSync(file, PASSWD);
  assert.equal(lookupHostUser('nobody', file)?.uid, 65534);
  assert.equal(lookupHostUser('alice', file), undefined);
  // As useradd does it: a new file renamed over the old one.
  writeFileSync(`${file}+`, `${PASSWD}alice:x:1000:1000::/home/alice:/bin/sh\n`);
  renameSync(`${file}+`, file);
  assert.equal(lookupHostUser('alice', file)?.uid, 1000);
  // Edited in place, to the same length.
  writeFileSync(file, `${PASSWD}alice:x:1001:1000::/home/alice:/bin/sh\n`);
  assert.equal(lookupHostUser('alice', file)?.uid, 1001);
  writeFileSync(file, PASSWD);
  assert.equal(lookupHostUser('alice', file), undefined);
});
