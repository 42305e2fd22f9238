// The SDK's scheduler connection against a scripted master (one HTTP server the
// test drives): an update that comes again after its acknowledgement was taken,
// as one does when an agent dies before reading the acknowledgement the master
// forwarded and a newly elected master cannot know, is acknowledged again and
// never handed to the consumer twice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { record, scriptedMaster } from './scripted-master.js';

function update(uuid: string, state: string) {
  return {
    type: 'UPDATE',
    update: {
      status: {
        task_id: { value: 't1' },
        agent_id: { value: 'S0' },
        state,
        source: 'SOURCE_EXECUTOR',
        uuid,
      },
    },
  };
}

test('scheduler: an update that comes again after its acknowledgement is acked again, not delivered twice', async (t) => {
  const master = await scriptedMaster(t);
  const connection = await subscribe({
    master: master.address,
    frameworkInfo: { user: 'u', name: 'acked' },
  });
  t.after(() => connection.close());
  const acks = () =>
    master.calls.flatMap((c) => (c.type === 'ACKNOWLEDGE' ? [c.acknowledge?.uuid ?? ''] : []));
  const stream = () => master.stream();

  const seen: string[] = [];
  const events = connection.events();
  const next = async () => {
    const { value } = await events.next();
    if (value?.type === 'UPDATE') seen.push(value.update.status.uuid ?? '');
    return value;
  };
  stream()?.write(record(update('dTE=', 'TASK_RUNNING')));
  await next();
  const waitForAcks = async (count: number) => {
    const deadline = Date.now() + 10_000;
    while (acks().length < count) {
      assert.ok(Date.now() < deadline, `${count} acknowledgements, saw ${acks().length}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await waitForAcks(1);
  // The same update again (the agent lost the acknowledgement), then a new one.
  stream()?.write(record(update('dTE=', 'TASK_RUNNING')));
  stream()?.write(record(update('dTI=', 'TASK_FINISHED')));
  await next();
  assert.deepEqual(seen, ['dTE=', 'dTI='], 'the copy is not handed over');
  await waitForAcks(3);
  assert.deepEqual(acks().sort(), ['dTE=', 'dTE=', 'dTI='], 'the copy is acknowledged again');
});
