// The ACL actions of a Mesos ACL file beyond launching and viewing tasks (docs/authorization.md):
// flags and the log level, roles and quotas filtered per caller, maintenance, agent
// registration, and a task's containers on its agent (view_containers, `agora task exec`'s
// nested sessions). A real master and agents, every request made with a chosen credential.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import { EventQueue, launchOne } from './events.js';
import { waitFor } from './harness.js';
import {
  AGENT,
  authorization,
  GUEST,
  OPS,
  type SecureCluster,
  startSecureCluster,
  type TestCredential,
} from './secure-cluster.js';

const onlyOps = (object: string) => [
  { principals: { values: [OPS.principal] }, [object]: { type: 'ANY' } },
  { principals: { type: 'ANY' }, [object]: { type: 'NONE' } },
];

const MASTER_ACLS = {
  view_flags: onlyOps('flags'),
  set_log_level: onlyOps('level'),
  view_roles: [
    { principals: { values: [OPS.principal] }, roles: { type: 'ANY' } },
    { principals: { type: 'ANY' }, roles: { values: ['public'] } },
    { principals: { type: 'ANY' }, roles: { type: 'NONE' } },
  ],
  start_maintenances: onlyOps('machines'),
  // Agents register with the agents' credential only.
  register_agents: [
    { principals: { values: [AGENT.principal] }, agents: { type: 'ANY' } },
    { principals: { type: 'ANY' }, agents: { type: 'NONE' } },
  ],
};

const AGENT_ACLS = {
  view_flags: onlyOps('flags'),
  view_containers: onlyOps('users'),
  launch_nested_container_sessions_under_parent_with_user: onlyOps('users'),
  kill_nested_containers: onlyOps('users'),
  view_frameworks: onlyOps('users'),
  view_tasks: onlyOps('users'),
};

async function post(
  url: string | URL,
  body: unknown,
  credential: TestCredential,
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: authorization(credential),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, text: await response.text() };
}

describe("Mesos' other ACL actions", () => {
  let cluster: SecureCluster;
  let framework: SchedulerConnection | undefined;
  let agentUrl = '';
  before(async () => {
    cluster = await startSecureCluster({
      agents: 0,
      agentResources: 'cpus:2;mem:1024',
      acls: MASTER_ACLS,
      masterArgs: [
        '--authenticate_agents',
        '--authenticate_http_readonly',
        '--authenticate_http_readwrite',
      ],
    });
    const agentAcls = join(cluster.workDir, 'agent-acls.json');
    writeFileSync(agentAcls, JSON.stringify(AGENT_ACLS));
    const agent = await cluster.addAgent('agent-acl', [
      '--authenticate_http_readonly',
      '--authenticate_http_readwrite',
      '--http_credentials',
      cluster.credentialsFile,
      '--acls',
      agentAcls,
    ]);
    agentUrl = agent.url;
  });
  after(async () => {
    await framework?.close({ drainMs: 0 });
    await cluster?.stop();
  });

  test('flags and the log level: 403 naming the action to a principal the ACLs deny', async () => {
    const flags = new URL('/master/flags', cluster.masterUrl);
    assert.equal((await cluster.get(flags, OPS)).status, 200);
    const denied = await cluster.get(flags, GUEST);
    assert.equal(denied.status, 403);
    assert.match(await denied.text(), /view_flags/);
    const api = new URL('/api/v1', cluster.masterUrl);
    assert.equal((await post(api, { type: 'GET_FLAGS' }, OPS)).status, 200);
    assert.equal((await post(api, { type: 'GET_FLAGS' }, GUEST)).status, 403);
    const toggle = new URL('/logging/toggle?level=1&duration=1secs', cluster.masterUrl);
    const refused = await cluster.get(toggle, GUEST);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /set_log_level/);
    assert.equal((await cluster.get(new URL('/slave(1)/flags', agentUrl), GUEST)).status, 403);
    assert.equal((await cluster.get(new URL('/slave(1)/flags', agentUrl), OPS)).status, 200);
  });

  test('roles and weights show a principal only the roles view_roles lets it see', async () => {
    const api = new URL('/api/v1', cluster.masterUrl);
    const update = await post(
      api,
      {
        type: 'UPDATE_WEIGHTS',
        update_weights: {
          weight_infos: [
            { role: 'public', weight: 2 },
            { role: 'secret', weight: 3 },
          ],
        },
      },
      OPS,
    );
    assert.equal(update.status, 200, update.text);
    const weightsAs = async (credential: TestCredential) => {
      const response = await cluster.get(new URL('/master/weights', cluster.masterUrl), credential);
      const weights = (await response.json()) as { role: string }[];
      return weights.map((w) => w.role).sort();
    };
    assert.deepEqual(await weightsAs(OPS), ['public', 'secret']);
    assert.deepEqual(await weightsAs(GUEST), ['public']);
    const roles = await post(api, { type: 'GET_ROLES' }, GUEST);
    assert.equal(roles.status, 200);
    assert.doesNotMatch(roles.text, /secret/);
    assert.match(roles.text, /public/);
  });

  test('taking a machine down needs start_maintenances, not only the schedule', async () => {
    const machine = { hostname: 'maintained.example', ip: '10.9.9.9' };
    const down = (credential: TestCredential) =>
      post(new URL('/master/machine/down', cluster.masterUrl), [machine], credential);
    const refused = await down(GUEST);
    assert.equal(refused.status, 403);
    assert.match(refused.text, /start_maintenances/);
  });

  test('an agent whose principal register_agents denies is refused, and the master books nothing of it', async () => {
    const guestCredential = join(cluster.workDir, 'guest-credential');
    writeFileSync(guestCredential, `${GUEST.principal} ${GUEST.secret}\n`, { mode: 0o600 });
    const intruder = await cluster.addAgent('agent-guest', ['--credential', guestCredential]);
    await waitFor('the agent to be told it may not register', () =>
      intruder.lines.some((line) => /register_agents/.test(JSON.stringify(line)))
        ? true
        : undefined,
    );
    const slaves = await cluster.get(new URL('/master/slaves', cluster.masterUrl), OPS);
    const { slaves: booked } = (await slaves.json()) as { slaves: { hostname: string }[] };
    assert.equal(booked.length, 1, 'only the agent with the agents credential');
    await intruder.stop();
  });

  test("a task's containers: view_containers hides them, and exec into them needs the parent's ACL", async () => {
    framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: { user: 'root', name: 'acl-containers' },
    });
    const events = new EventQueue(framework);
    await launchOne(framework, events, 'watched', 'sleep 60');
    const api = new URL('/api/v1', agentUrl);
    const containersAs = async (credential: TestCredential) => {
      const answer = await post(api, { type: 'GET_CONTAINERS' }, credential);
      assert.equal(answer.status, 200, answer.text);
      return (
        JSON.parse(answer.text) as {
          get_containers: { containers: { container_id: { value: string } }[] };
        }
      ).get_containers.containers;
    };
    const [container] = await containersAs(OPS);
    assert.ok(container !== undefined, 'ops sees the task container');
    assert.deepEqual(await containersAs(GUEST), []);
    const listed = await cluster.get(new URL('/slave(1)/containers', agentUrl), GUEST);
    assert.deepEqual(await listed.json(), []);
    // The agent's own state: tasks and flags only to whom view_tasks and view_flags show them.
    const stateAs = async (credential: TestCredential) =>
      (await (await cluster.get(new URL('/slave(1)/state', agentUrl), credential)).json()) as {
        frameworks: unknown[];
        flags?: unknown;
      };
    const opsState = await stateAs(OPS);
    assert.equal(opsState.frameworks.length, 1);
    assert.ok(opsState.flags !== undefined);
    const guestState = await stateAs(GUEST);
    assert.deepEqual(guestState.frameworks, []);
    assert.equal(guestState.flags, undefined);
    const tasks = await post(api, { type: 'GET_TASKS' }, GUEST);
    assert.equal(tasks.status, 200);
    assert.doesNotMatch(tasks.text, /watched/);
    assert.match((await post(api, { type: 'GET_TASKS' }, OPS)).text, /watched/);
    const masterState = (await (
      await cluster.get(new URL('/master/state', cluster.masterUrl), GUEST)
    ).json()) as { flags?: unknown };
    assert.equal(masterState.flags, undefined, "the master's /state hides its flags too");
    const session = (credential: TestCredential, value: string) =>
      post(
        api,
        {
          type: 'LAUNCH_NESTED_CONTAINER_SESSION',
          launch_nested_container_session: {
            container_id: { value, parent: container.container_id },
            command: { value: 'echo inside' },
          },
        },
        credential,
      );
    const refused = await session(GUEST, 'guest-exec');
    assert.equal(refused.status, 403);
    assert.match(refused.text, /launch_nested_container_sessions_under_parent_with_user/);
    const allowed = await session(OPS, 'ops-exec');
    assert.equal(allowed.status, 200, allowed.text);
    assert.match(allowed.text, /aW5zaWRl|inside/, 'the session ran and its output came back');
    const kill = await post(
      api,
      {
        type: 'KILL_NESTED_CONTAINER',
        kill_nested_container: {
          container_id: { value: 'ops-exec', parent: container.container_id },
        },
      },
      GUEST,
    );
    assert.equal(kill.status, 403);
    assert.match(kill.text, /kill_nested_containers/);
  });
});
