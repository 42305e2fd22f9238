import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptAuthorizer } from '../../src/master/http/call-authorization.js';
import { parseAcls } from '../../src/runtime/index.js';
import { agentId, executorId, type OfferOperation, taskId } from '../../src/wire/index.js';

const acls = parseAcls({
  reserve_resources: [{ principals: { values: ['web'] }, roles: { values: ['web'] } }],
  run_tasks: [{ principals: { type: 'ANY' }, users: { values: ['root'] } }],
  destroy_volumes: [{ principals: { type: 'ANY' }, creator_principals: { type: 'NONE' } }],
  permissive: false,
});
const reserved = (role: string) => ({
  name: 'cpus',
  type: 'SCALAR' as const,
  scalar: { value: 1 },
  reservations: [{ type: 'DYNAMIC' as const, role }],
});
const reserve = (role: string): OfferOperation => ({
  type: 'RESERVE',
  reserve: { resources: [reserved(role)] },
});

test('accept authorizer allows a reservation for a role the principal may reserve, not another', () => {
  const web = acceptAuthorizer(acls, { user: 'root', name: 'w', principal: 'web' });
  assert.equal(web.operation(reserve('web')), undefined);
  assert.match(web.operation(reserve('db')) ?? '', /reserve_resources on 'db' as principal 'web'/);
  const anonymous = acceptAuthorizer(acls, { user: 'root', name: 'a' });
  assert.match(anonymous.operation(reserve('web')) ?? '', /without a principal/);
});

test("accept authorizer checks run_tasks by the command's user, else the executor's, else the framework's", () => {
  const authorizer = acceptAuthorizer(acls, { user: 'nobody', name: 'w', principal: 'web' });
  const task = (user?: string) => ({
    name: 't',
    task_id: taskId('t'),
    agent_id: agentId('a'),
    command: { value: 'true', ...(user === undefined ? {} : { user }) },
  });
  assert.equal(authorizer.task(task('root')), undefined);
  assert.match(authorizer.task(task()) ?? '', /run_tasks on 'nobody'/);
  assert.equal(
    authorizer.task(task(), {
      executor_id: executorId('e'),
      command: { value: 'x', user: 'root' },
    }),
    undefined,
  );
});

test('accept authorizer refuses destroying a volume by its creator principal', () => {
  const authorizer = acceptAuthorizer(acls, { user: 'root', name: 'w', principal: 'web' });
  const volume = {
    ...reserved('web'),
    name: 'disk',
    disk: {
      persistence: { id: 'v', principal: 'web' },
      volume: { mode: 'RW' as const, container_path: 'd' },
    },
  };
  assert.match(
    authorizer.operation({ type: 'DESTROY', destroy: { volumes: [volume] } }) ?? '',
    /destroy_volumes on 'web'/,
  );
});
