// GET_EXECUTORS and /master/state's executors: what the books hold. Command
// tasks name no executor (the master never hears of theirs); a task launched
// with an ExecutorInfo does, once per framework, agent and executor id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { legacyFramework, v1Executors } from '../../src/master/http/render.js';
import { Resources } from '../../src/resources/index.js';
import { agentId, executorId, taskId } from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

test('executors are those active tasks name, once each, with their framework id', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe();
  const executor = {
    executor_id: executorId('web-executor'),
    name: 'web',
    command: { value: './executor', uris: [{ value: 'http://x/executor.tgz' }] },
    resources: Resources.parse('cpus:0.1;mem:32').toWire('pre-refinement'),
  };
  const add = (id: string, withExecutor: boolean) =>
    bed.core.books.addTask({
      taskId: taskId(id),
      frameworkId: fw.id,
      agentId: agentId(agent.id),
      info: {
        name: id,
        task_id: taskId(id),
        agent_id: agentId(agent.id),
        ...(withExecutor ? { executor } : { command: { value: 'true' } }),
      },
      role: '*',
      resources: Resources.parse('cpus:1;mem:64'),
      state: 'TASK_RUNNING',
      statuses: [],
      statusUpdateState: undefined,
      statusUpdateUuid: undefined,
      isRecovered: false,
    });
  add('a', true);
  add('b', true);
  add('c', false);

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
    slave_id: agent.id,
  });
});
