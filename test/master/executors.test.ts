// GET_EXECUTORS and /master/state's executors: what the books hold. Command
// tasks have no executor the master knows of; a task group's executor is
// recorded on its agent until the agent reports it gone, once per framework.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { executorKey } from '../../src/master/core/records.js';
import { legacyFramework } from '../../src/master/http/render.js';
import { v1Executors } from '../../src/master/http/render-v1.js';
import { Resources } from '../../src/resources/index.js';
import { agentId, executorId } from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

test('executors are those the agents run for a framework, with their framework id', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe();
  const other = bed.subscribe();
  const executor = {
    executor_id: executorId('web-executor'),
    name: 'web',
    command: { value: './executor', uris: [{ value: 'http://x/executor.tgz' }] },
    resources: Resources.parse('cpus:0.1;mem:32').toWire('pre-refinement'),
  };
  const record = bed.core.books.agents.get(agent.id);
  assert.ok(record !== undefined);
  record.executors.set(executorKey(fw.id.value, 'web-executor'), {
    executorId: executor.executor_id,
    frameworkId: fw.id,
    agentId: agentId(agent.id),
    info: executor,
    role: '*',
    resources: Resources.parse('cpus:0.1;mem:32'),
  });

  assert.deepEqual(v1Executors(bed.core.books), {
    executors: [
      { executor_info: { ...executor, framework_id: fw.id }, agent_id: agentId(agent.id) },
    ],
  });
  const [listed] = legacyFramework(bed.core.books, bed.framework(fw.id)).executors as Record<
    string,
    unknown
  >[];
  assert.deepEqual(listed, {
    executor_id: 'web-executor',
    name: 'web',
    framework_id: fw.id.value,
    command: {
      value: './executor',
      argv: [],
      uris: [{ value: 'http://x/executor.tgz', executable: false }],
    },
    resources: { cpus: 0.1, disk: 0, gpus: 0, mem: 32 },
    role: '*',
    slave_id: agent.id,
  });
  assert.deepEqual(legacyFramework(bed.core.books, bed.framework(other.id)).executors, []);
});
