import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findPasswdUser, taskUserName } from '../../src/agent/task-user.js';
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
