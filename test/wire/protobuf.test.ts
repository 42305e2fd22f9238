// The protobuf codec against an independent implementation (protobufjs over the
// same .proto files): every sample message round-trips to the same wire-JSON
// object both ways, byte for byte; enums, bytes, 64-bit integers, maps, nesting,
// unknown fields and malformed input behave as WIRE §1.2 and proto2 say.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { AGENT_OPERATOR_CALL_TYPES, parseAgentOperatorCall } from '../../src/wire/index.js';
import { lazyList } from '../../src/wire/lazy-list.js';
import { MAX_PROTOBUF_DEPTH } from '../../src/wire/limits.js';
import { ProtoCodec } from '../../src/wire/proto/codec.js';
import { compileProtos } from '../../src/wire/proto/compile.js';
import { PROTO_MESSAGES } from '../../src/wire/proto/descriptor.js';
import { ProtoDecodeError, ProtoEncodeError } from '../../src/wire/proto/errors.js';
import { loadProtoCodec } from '../../src/wire/proto/load.js';
import { WireReader, WireWriter } from '../../src/wire/proto/wire-format.js';
import { strictDecode, strictEncode, strictRoot } from './proto-strict.js';

const codec = new ProtoCodec(compileProtos());
const M = PROTO_MESSAGES;
type Json = Record<string, unknown>;

const FW = { value: '7f3c5a1e-2b4d-4c8a-9e61-0d2f4b6a8c10-0003' };
const AGENT = { value: '7f3c5a1e-2b4d-4c8a-9e61-0d2f4b6a8c10-S7' };
const TASK = { value: 'etl-shard-04.2024-11-24T02' };
const UUID = 'PyqcHlt9TiGKnwxtLksadw==';
const MASTER_INFO = {
  id: '7f3c5a1e-2b4d-4c8a-9e61-0d2f4b6a8c10',
  ip: 83886090,
  port: 5050,
  pid: 'master@10.0.0.5:5050',
  hostname: 'm1.example.com',
  version: '1.11.0',
  address: { hostname: 'm1.example.com', ip: '10.0.0.5', port: 5050 },
  capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, { type: 'QUOTA_V2' }],
};
const cpus = (value: number, role = 'analytics') => ({
  name: 'cpus',
  type: 'SCALAR',
  scalar: { value },
  role: '*',
  allocation_info: { role },
});
const TASK_INFO = {
  name: 'etl-shard-04',
  task_id: TASK,
  agent_id: AGENT,
  resources: [
    cpus(1.5),
    {
      name: 'ports',
      type: 'RANGES',
      ranges: { range: [{ begin: 31005, end: 31005 }] },
      role: '*',
      allocation_info: { role: 'analytics' },
    },
  ],
  command: {
    value: 'python3 /app/run.py --shard 4 --port $PORT0',
    environment: { variables: [{ name: 'PORT0', value: '31005' }] },
    uris: [{ value: 'https://artifacts.example.com/etl/config-v12.tgz' }],
  },
  container: {
    type: 'MESOS',
    mesos: { image: { type: 'DOCKER', docker: { name: 'registry.example.com/etl:1.9.2' } } },
  },
  health_check: {
    type: 'HTTP',
    http: { port: 31005, path: '/healthz' },
    grace_period_seconds: 60,
  },
  kill_policy: { grace_period: { nanoseconds: 30000000000 } },
  limits: { cpus: { value: Number.POSITIVE_INFINITY }, mem: { value: 4096 } },
  data: Buffer.from('opaque \u0000\u00ff').toString('base64'),
  labels: { labels: [{ key: 'team', value: 'data' }, { key: 'bare' }] },
};
const STATUS = {
  task_id: TASK,
  state: 'TASK_RUNNING',
  source: 'SOURCE_EXECUTOR',
  reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
  healthy: true,
  agent_id: AGENT,
  executor_id: { value: TASK.value },
  timestamp: 1732413604.218774,
  uuid: UUID,
  container_status: {
    container_id: { value: 'c-2', parent: { value: 'c-1' } },
    network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '10.0.1.17' }] }],
  },
};
const OFFER = {
  id: { value: '7f3c5a1e-2b4d-4c8a-9e61-0d2f4b6a8c10-O1542' },
  framework_id: FW,
  agent_id: AGENT,
  hostname: 'a7.example.com',
  url: {
    scheme: 'http',
    address: { hostname: 'a7.example.com', ip: '10.0.1.17', port: 5051 },
    path: '/slave(1)',
  },
  domain: { fault_domain: { region: { name: 'eu-west' }, zone: { name: 'eu-west-1b' } } },
  resources: [
    cpus(7.5),
    { ...cpus(2), role: 'analytics', reservation: { principal: 'ops' } },
    {
      name: 'disk',
      type: 'SCALAR',
      scalar: { value: 1024 },
      reservations: [{ type: 'DYNAMIC', role: 'db', principal: 'pg-op' }],
      disk: {
        persistence: { id: 'pgdata-1', principal: 'pg-op' },
        volume: { container_path: 'pgdata', mode: 'RW' },
      },
      shared: {},
    },
  ],
  attributes: [
    { name: 'rack', type: 'TEXT', text: { value: 'r12' } },
    { name: 'gen', type: 'SCALAR', scalar: { value: 3 } },
  ],
  executor_ids: [{ value: 'etl-exec-1' }],
  allocation_info: { role: 'analytics' },
};
const FRAMEWORK_INFO = {
  user: 'svc-batch',
  name: 'nightly-etl',
  roles: ['analytics', 'analytics/adhoc'],
  failover_timeout: 604800,
  checkpoint: true,
  principal: 'etl',
  webui_url: 'http://sched-3.example.com:8080/',
  capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }],
  labels: { labels: [{ key: 'team', value: 'data' }] },
  offer_filters: {
    analytics: {
      min_allocatable_resources: { quantities: [{ quantities: { cpus: { value: 1 } } }] },
    },
  },
};
const TIME = { nanoseconds: 1732413604218774000 };

/** Sample messages of every API, in their wire-JSON shape (WIRE §2.3 and the protos). */
const SAMPLES: readonly [name: string, typeName: string, value: Json][] = [
  [
    'SUBSCRIBE',
    M.schedulerCall,
    {
      type: 'SUBSCRIBE',
      subscribe: {
        framework_info: FRAMEWORK_INFO,
        suppressed_roles: ['analytics/adhoc'],
        offer_constraints: {
          role_constraints: {
            analytics: {
              groups: [
                {
                  attribute_constraints: [
                    {
                      selector: { attribute_name: 'rack' },
                      predicate: { text_equals: { value: 'r12' } },
                    },
                    { selector: { pseudoattribute_type: 'ZONE' }, predicate: { exists: {} } },
                  ],
                },
              ],
            },
          },
        },
      },
    },
  ],
  [
    'ACCEPT with LAUNCH and RESERVE',
    M.schedulerCall,
    {
      framework_id: FW,
      type: 'ACCEPT',
      accept: {
        offer_ids: [OFFER.id],
        operations: [
          { type: 'LAUNCH', launch: { task_infos: [TASK_INFO] } },
          { type: 'RESERVE', id: { value: 'op-1' }, reserve: { resources: [cpus(1)] } },
          {
            type: 'LAUNCH_GROUP',
            launch_group: {
              executor: { type: 'DEFAULT', executor_id: { value: 'e' }, framework_id: FW },
              task_group: {
                tasks: [
                  {
                    name: 'g',
                    task_id: { value: 'g' },
                    agent_id: AGENT,
                    resources: [cpus(1)],
                    command: { value: 'true' },
                  },
                ],
              },
            },
          },
        ],
        filters: { refuse_seconds: 30 },
      },
    },
  ],
  [
    'DECLINE',
    M.schedulerCall,
    {
      framework_id: FW,
      type: 'DECLINE',
      decline: { offer_ids: [OFFER.id], filters: { refuse_seconds: 120 } },
    },
  ],
  [
    'ACKNOWLEDGE',
    M.schedulerCall,
    {
      framework_id: FW,
      type: 'ACKNOWLEDGE',
      acknowledge: { agent_id: AGENT, task_id: TASK, uuid: UUID },
    },
  ],
  [
    'RECONCILE',
    M.schedulerCall,
    {
      framework_id: FW,
      type: 'RECONCILE',
      reconcile: { tasks: [{ task_id: TASK, agent_id: AGENT }, { task_id: TASK }] },
    },
  ],
  [
    'KILL',
    M.schedulerCall,
    {
      framework_id: FW,
      type: 'KILL',
      kill: { task_id: TASK, kill_policy: { grace_period: { nanoseconds: 5 } } },
    },
  ],
  [
    'REVIVE',
    M.schedulerCall,
    { framework_id: FW, type: 'REVIVE', revive: { roles: ['analytics'] } },
  ],
  ['SUPPRESS (empty body)', M.schedulerCall, { framework_id: FW, type: 'SUPPRESS', suppress: {} }],
  ['TEARDOWN', M.schedulerCall, { framework_id: FW, type: 'TEARDOWN' }],
  [
    'MESSAGE',
    M.schedulerCall,
    {
      framework_id: FW,
      type: 'MESSAGE',
      message: { agent_id: AGENT, executor_id: { value: 'e' }, data: 'aGk=' },
    },
  ],
  [
    'ACKNOWLEDGE_OPERATION_STATUS',
    M.schedulerCall,
    {
      framework_id: FW,
      type: 'ACKNOWLEDGE_OPERATION_STATUS',
      acknowledge_operation_status: {
        agent_id: AGENT,
        uuid: UUID,
        operation_id: { value: 'op-1' },
      },
    },
  ],
  [
    'UPDATE_FRAMEWORK',
    M.schedulerCall,
    {
      framework_id: FW,
      type: 'UPDATE_FRAMEWORK',
      update_framework: { framework_info: { ...FRAMEWORK_INFO, id: FW } },
    },
  ],
  [
    'SUBSCRIBED',
    M.schedulerEvent,
    {
      type: 'SUBSCRIBED',
      subscribed: { framework_id: FW, heartbeat_interval_seconds: 15, master_info: MASTER_INFO },
    },
  ],
  ['OFFERS', M.schedulerEvent, { type: 'OFFERS', offers: { offers: [OFFER] } }],
  ['UPDATE', M.schedulerEvent, { type: 'UPDATE', update: { status: STATUS } }],
  ['RESCIND', M.schedulerEvent, { type: 'RESCIND', rescind: { offer_id: OFFER.id } }],
  [
    'FAILURE',
    M.schedulerEvent,
    { type: 'FAILURE', failure: { agent_id: AGENT, executor_id: { value: 'e' }, status: -9 } },
  ],
  ['ERROR', M.schedulerEvent, { type: 'ERROR', error: { message: 'Framework failed over' } }],
  ['HEARTBEAT', M.schedulerEvent, { type: 'HEARTBEAT' }],
  [
    'INVERSE_OFFERS',
    M.schedulerEvent,
    {
      type: 'INVERSE_OFFERS',
      inverse_offers: {
        inverse_offers: [
          {
            id: OFFER.id,
            framework_id: FW,
            agent_id: AGENT,
            unavailability: { start: TIME, duration: { nanoseconds: 3600e9 } },
          },
        ],
      },
    },
  ],
  [
    'UPDATE_OPERATION_STATUS',
    M.schedulerEvent,
    {
      type: 'UPDATE_OPERATION_STATUS',
      update_operation_status: {
        status: {
          operation_id: { value: 'op-1' },
          state: 'OPERATION_FINISHED',
          uuid: { value: UUID },
          agent_id: AGENT,
        },
      },
    },
  ],
  [
    'operator UPDATE_WEIGHTS',
    M.masterCall,
    { type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ weight: 2.5, role: 'eng' }] } },
  ],
  [
    'operator UPDATE_QUOTA',
    M.masterCall,
    {
      type: 'UPDATE_QUOTA',
      update_quota: {
        force: true,
        quota_configs: [
          {
            role: 'eng',
            guarantees: { cpus: { value: 2 } },
            limits: { cpus: { value: 6 }, mem: { value: 4096 } },
          },
        ],
      },
    },
  ],
  [
    'operator DRAIN_AGENT',
    M.masterCall,
    {
      type: 'DRAIN_AGENT',
      drain_agent: {
        agent_id: AGENT,
        max_grace_period: { seconds: 600, nanos: 5 },
        mark_gone: true,
      },
    },
  ],
  [
    'operator READ_FILE',
    M.masterCall,
    { type: 'READ_FILE', read_file: { path: '/master/log', offset: 0, length: 4096 } },
  ],
  [
    'operator GET_VERSION reply',
    M.masterResponse,
    {
      type: 'GET_VERSION',
      get_version: {
        version_info: { version: '1.11.0', build_time: 1700000000, build_user: 'agora' },
      },
    },
  ],
  [
    'operator GET_STATE reply',
    M.masterResponse,
    {
      type: 'GET_STATE',
      get_state: {
        get_tasks: {
          tasks: [
            {
              name: 'etl',
              task_id: TASK,
              framework_id: FW,
              agent_id: AGENT,
              state: 'TASK_RUNNING',
              resources: [cpus(1)],
              statuses: [STATUS],
              status_update_state: 'TASK_RUNNING',
              status_update_uuid: UUID,
            },
          ],
        },
        get_executors: {},
        get_frameworks: {
          frameworks: [
            {
              framework_info: { ...FRAMEWORK_INFO, id: FW },
              active: true,
              connected: true,
              recovered: false,
              registered_time: TIME,
              offers: [OFFER],
            },
          ],
        },
        get_agents: {
          agents: [
            {
              agent_info: {
                hostname: 'a7.example.com',
                port: 5051,
                id: AGENT,
                attributes: OFFER.attributes,
              },
              active: true,
              deactivated: false,
              version: '1.11.0',
              pid: 'slave(1)@10.0.1.17:5051',
              registered_time: TIME,
              total_resources: [cpus(8)],
              capabilities: [{ type: 'MULTI_ROLE' }, { type: 'HIERARCHICAL_ROLE' }],
              drain_info: {
                state: 'DRAINING',
                config: { max_grace_period: { nanoseconds: 10 }, mark_gone: false },
              },
            },
          ],
          recovered_agents: [{ hostname: 'a8.example.com' }],
        },
      },
    },
  ],
  [
    'operator GET_QUOTA reply',
    M.masterResponse,
    {
      type: 'GET_QUOTA',
      get_quota: {
        status: {
          infos: [{ role: 'eng', guarantee: [cpus(2)] }],
          configs: [{ role: 'eng', guarantees: { cpus: { value: 2 } } }],
        },
      },
    },
  ],
  [
    'operator READ_FILE reply',
    M.masterResponse,
    { type: 'READ_FILE', read_file: { size: 1234, data: 'bG9n' } },
  ],
  [
    'operator TASK_UPDATED',
    M.masterEvent,
    {
      type: 'TASK_UPDATED',
      task_updated: { framework_id: FW, status: STATUS, state: 'TASK_RUNNING' },
    },
  ],
  [
    'operator AGENT_REMOVED',
    M.masterEvent,
    { type: 'AGENT_REMOVED', agent_removed: { agent_id: AGENT } },
  ],
  [
    'operator FRAMEWORK_REMOVED',
    M.masterEvent,
    { type: 'FRAMEWORK_REMOVED', framework_removed: { framework_info: FRAMEWORK_INFO } },
  ],
  [
    'executor SUBSCRIBE',
    M.executorCall,
    {
      executor_id: { value: 'e' },
      framework_id: FW,
      type: 'SUBSCRIBE',
      subscribe: {
        unacknowledged_tasks: [TASK_INFO],
        unacknowledged_updates: [{ status: STATUS }],
      },
    },
  ],
  [
    'executor UPDATE',
    M.executorCall,
    { executor_id: { value: 'e' }, framework_id: FW, type: 'UPDATE', update: { status: STATUS } },
  ],
  [
    'executor SUBSCRIBED',
    M.executorEvent,
    {
      type: 'SUBSCRIBED',
      subscribed: {
        executor_info: {
          type: 'CUSTOM',
          executor_id: { value: 'e' },
          framework_id: FW,
          command: { value: './exec', shell: false, arguments: ['./exec', '-v'] },
          shutdown_grace_period: { nanoseconds: 5e9 },
        },
        framework_info: { ...FRAMEWORK_INFO, id: FW },
        agent_info: { hostname: 'a7.example.com', id: AGENT },
        container_id: { value: 'c-1' },
      },
    },
  ],
  [
    'executor ACKNOWLEDGED',
    M.executorEvent,
    { type: 'ACKNOWLEDGED', acknowledged: { task_id: TASK, uuid: UUID } },
  ],
  [
    'agent LAUNCH_CONTAINER of a nested container',
    M.agentCall,
    {
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value: 'debug-1', parent: { value: 'c-1' } },
        command: { value: 'cat /etc/hostname', shell: true },
        resources: [cpus(0.1)],
        limits: { mem: { value: 64 } },
      },
    },
  ],
  [
    'agent ATTACH_CONTAINER_INPUT record',
    M.agentCall,
    {
      type: 'ATTACH_CONTAINER_INPUT',
      attach_container_input: {
        type: 'PROCESS_IO',
        process_io: {
          type: 'DATA',
          data: { type: 'STDIN', data: Buffer.from('ls\n').toString('base64') },
        },
      },
    },
  ],
  [
    'agent GET_CONTAINERS',
    M.agentResponse,
    {
      type: 'GET_CONTAINERS',
      get_containers: {
        containers: [
          {
            framework_id: FW,
            executor_id: { value: TASK.value },
            executor_name: 'Command Executor (Task: etl-shard-04)',
            container_id: { value: 'c-1' },
            container_status: { executor_pid: 4242, container_id: { value: 'c-1' } },
            resource_statistics: {
              timestamp: 1732413604.25,
              cpus_user_time_secs: 1.5,
              cpus_limit: 1.5,
              mem_rss_bytes: 52428800,
              mem_limit_bytes: 134217728,
              processes: 3,
              mem_total_bytes: 60000000,
            },
          },
        ],
      },
    },
  ],
  [
    'agent GET_TASKS',
    M.agentResponse,
    {
      type: 'GET_TASKS',
      get_tasks: {
        launched_tasks: [
          {
            name: 'etl-shard-04',
            task_id: TASK,
            framework_id: FW,
            executor_id: { value: TASK.value },
            agent_id: AGENT,
            state: 'TASK_RUNNING',
            resources: [cpus(1.5)],
          },
        ],
      },
    },
  ],
  [
    'agent WAIT_CONTAINER',
    M.agentResponse,
    {
      type: 'WAIT_CONTAINER',
      wait_container: {
        exit_status: 9,
        state: 'TASK_KILLED',
        reason: 'REASON_COMMAND_EXECUTOR_FAILED',
        message: 'killed by SIGKILL',
      },
    },
  ],
  [
    'agent ProcessIO output',
    M.agentProcessIO,
    { type: 'DATA', data: { type: 'STDERR', data: Buffer.from([0, 0xff]).toString('base64') } },
  ],
  [
    'agent ProcessIO heartbeat',
    M.agentProcessIO,
    {
      type: 'CONTROL',
      control: { type: 'HEARTBEAT', heartbeat: { interval: { nanoseconds: 30e9 } } },
    },
  ],
];

test('protobuf samples round-trip to the same object, and match an independent encoder byte for byte', () => {
  for (const [name, typeName, value] of SAMPLES) {
    const bytes = codec.encode(typeName, value);
    assert.deepEqual(codec.decode(typeName, bytes), value, `${name}: decode(encode(x))`);
    assert.deepEqual(strictDecode(typeName, bytes), value, `${name}: a strict client reads it`);
    const theirs = strictEncode(typeName, value);
    assert.deepEqual(codec.decode(typeName, theirs), value, `${name}: Agora reads theirs`);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(theirs), `${name}: the same bytes`);
  }
});

test('protobuf field numbers and types are the ones WIRE lists', () => {
  const root = strictRoot();
  const facts: [typeName: string, field: string, id: number, type: string, rule?: string][] = [
    ['mesos.v1.scheduler.Call', 'framework_id', 1, 'FrameworkID'],
    ['mesos.v1.scheduler.Call', 'type', 2, 'Type'],
    ['mesos.v1.scheduler.Call', 'revive', 15, 'Revive'],
    ['mesos.v1.scheduler.Call', 'suppress', 16, 'Suppress'],
    ['mesos.v1.scheduler.Call', 'acknowledge_operation_status', 17, 'AcknowledgeOperationStatus'],
    ['mesos.v1.scheduler.Call', 'reconcile_operations', 18, 'ReconcileOperations'],
    ['mesos.v1.scheduler.Call', 'update_framework', 19, 'UpdateFramework'],
    ['mesos.v1.scheduler.Event', 'update_operation_status', 11, 'UpdateOperationStatus'],
    ['mesos.v1.FrameworkInfo', 'roles', 12, 'string', 'repeated'],
    ['mesos.v1.FrameworkInfo', 'user', 1, 'string', 'required'],
    ['mesos.v1.Offer', 'url', 8, 'URL'],
    ['mesos.v1.Offer', 'domain', 11, 'DomainInfo'],
    ['mesos.v1.Offer', 'hostname', 4, 'string', 'required'],
    ['mesos.v1.Address', 'port', 3, 'int32', 'required'],
    ['mesos.v1.MasterInfo', 'ip', 2, 'uint32', 'required'],
    ['mesos.v1.Resource', 'reservations', 13, 'ReservationInfo', 'repeated'],
    ['mesos.v1.Resource', 'allocation_info', 11, 'AllocationInfo'],
    ['mesos.v1.Value.Range', 'begin', 1, 'uint64', 'required'],
    ['mesos.v1.TaskInfo', 'limits', 15, 'Value.Scalar'],
    ['mesos.v1.TaskInfo', 'kill_policy', 12, 'KillPolicy'],
    ['mesos.v1.TaskStatus', 'uuid', 11, 'bytes'],
    ['mesos.v1.TaskStatus', 'timestamp', 6, 'double'],
    ['mesos.v1.TaskStatus', 'check_status', 15, 'CheckStatusInfo'],
    ['mesos.v1.TimeInfo', 'nanoseconds', 1, 'int64', 'required'],
    ['mesos.v1.Offer.Operation', 'id', 12, 'OperationID'],
    ['mesos.v1.Offer.Operation', 'grow_volume', 13, 'GrowVolume'],
    ['mesos.v1.ExecutorInfo', 'type', 15, 'Type'],
    ['mesos.v1.executor.Call', 'executor_id', 1, 'ExecutorID', 'required'],
    ['mesos.v1.executor.Event', 'launch_group', 8, 'LaunchGroup'],
    ['mesos.v1.master.Call', 'drain_agent', 21, 'DrainAgent'],
    ['mesos.v1.master.Response', 'get_operations', 20, 'GetOperations'],
    ['mesos.v1.master.Event', 'framework_removed', 9, 'FrameworkRemoved'],
    ['mesos.v1.agent.Call', 'get_containers', 20, 'GetContainers'],
    ['mesos.v1.agent.Call', 'remove_nested_container', 12, 'RemoveNestedContainer'],
    ['mesos.v1.agent.Call', 'mark_resource_provider_gone', 22, 'MarkResourceProviderGone'],
    ['mesos.v1.agent.Call.LaunchContainer', 'limits', 5, 'Value.Scalar'],
    ['mesos.v1.agent.Response', 'get_operations', 18, 'GetOperations'],
    ['mesos.v1.agent.Response', 'wait_container', 16, 'WaitContainer'],
    [
      'mesos.v1.agent.Response.GetContainers.Container',
      'container_id',
      4,
      'ContainerID',
      'required',
    ],
    ['mesos.v1.agent.Response.GetTasks', 'terminated_tasks', 4, 'Task', 'repeated'],
    ['mesos.v1.agent.ProcessIO', 'control', 3, 'Control'],
    ['mesos.v1.ResourceStatistics', 'timestamp', 1, 'double', 'required'],
    ['mesos.v1.ResourceStatistics', 'mem_total_bytes', 36, 'uint64'],
    ['mesos.v1.ResourceStatistics', 'processes', 30, 'uint32'],
  ];
  for (const [typeName, name, id, type, rule] of facts) {
    const field = root.lookupType(typeName).fields[name];
    assert.ok(field !== undefined, `${typeName}.${name} exists`);
    assert.equal(field.id, id, `${typeName}.${name} number`);
    assert.equal(field.type, type, `${typeName}.${name} type`);
    if (rule !== undefined)
      assert.equal(field.rule ?? 'optional', rule, `${typeName}.${name} rule`);
  }
  const enums: [enumName: string, value: string, n: number][] = [
    ['mesos.v1.TaskState', 'TASK_STAGING', 6],
    ['mesos.v1.TaskState', 'TASK_UNKNOWN', 13],
    ['mesos.v1.TaskStatus.Reason', 'REASON_AGENT_DRAINING', 34],
    ['mesos.v1.scheduler.Call.Type', 'ACKNOWLEDGE_OPERATION_STATUS', 15],
    ['mesos.v1.scheduler.Event.Type', 'RESCIND_INVERSE_OFFER', 10],
    ['mesos.v1.master.Call.Type', 'REACTIVATE_AGENT', 39],
    ['mesos.v1.master.Response.Type', 'GET_OPERATIONS', 19],
    ['mesos.v1.agent.Call.Type', 'GET_OPERATIONS', 31],
    ['mesos.v1.agent.Call.Type', 'MARK_RESOURCE_PROVIDER_GONE', 32],
    ['mesos.v1.agent.Response.Type', 'GET_AGENT', 14],
    ['mesos.v1.agent.Response.Type', 'GET_OPERATIONS', 17],
    ['mesos.v1.agent.ProcessIO.Data.Type', 'STDERR', 3],
    ['mesos.v1.OperationState', 'OPERATION_UNKNOWN', 9],
    ['mesos.v1.FrameworkInfo.Capability.Type', 'REGION_AWARE', 8],
  ];
  for (const [enumName, value, n] of enums)
    assert.equal(root.lookupEnum(enumName).values[value], n, `${enumName}.${value}`);
});

test('protobuf enums travel as names; unknown numbers and names are dropped unless required', () => {
  const type = 'mesos.v1.TaskStatus';
  const encoded = codec.encode(type, {
    task_id: TASK,
    state: 'TASK_KILLING',
    source: 'SOURCE_NOPE',
  });
  assert.deepEqual(codec.decode(type, encoded), { task_id: TASK, state: 'TASK_KILLING' });
  // A newer peer's enum numbers: an optional field is dropped, a repeated entry skipped.
  const writer = new WireWriter();
  writer.tag(1, 2);
  writer.bytes(codec.encode('mesos.v1.TaskID', TASK));
  writer.tag(2, 0);
  writer.int32(1);
  writer.tag(9, 0);
  writer.int32(77);
  assert.deepEqual(codec.decode(type, writer.finish()), { task_id: TASK, state: 'TASK_RUNNING' });
  const capabilities = new WireWriter();
  for (const n of [6, 99, 5]) {
    capabilities.tag(10, 2);
    const entry = new WireWriter();
    entry.tag(1, 0);
    entry.int32(n);
    capabilities.bytes(entry.finish());
  }
  assert.deepEqual(
    codec.decode(
      'mesos.v1.FrameworkInfo',
      Buffer.concat([
        codec.encode('mesos.v1.FrameworkInfo', { user: 'u', name: 'n' }),
        capabilities.finish(),
      ]),
    ),
    {
      user: 'u',
      name: 'n',
      capabilities: [{ type: 'MULTI_ROLE' }, {}, { type: 'PARTITION_AWARE' }],
    },
  );
  // A required enum with an unknown number is missing, as protobuf's own parser sees it.
  const required = new WireWriter();
  required.tag(1, 2);
  required.bytes(codec.encode('mesos.v1.TaskID', TASK));
  required.tag(2, 0);
  required.int32(500);
  assert.throws(
    () => codec.decode(type, required.finish()),
    (error: unknown) => error instanceof ProtoDecodeError && error.path === 'state',
  );
  assert.throws(() => codec.encode(type, { task_id: TASK, state: 'TASK_NOPE' }), ProtoEncodeError);
});

test('protobuf bytes travel as standard base64, uuids byte for byte', () => {
  const uuid = Buffer.from('3f2a9c1e5b7d4e218a9f0c6d2e4b1a77', 'hex');
  const bytes = codec.encode('mesos.v1.scheduler.Call.Acknowledge', {
    agent_id: AGENT,
    task_id: TASK,
    uuid: uuid.toString('base64'),
  });
  const raw = strictRoot()
    .lookupType('mesos.v1.scheduler.Call.Acknowledge')
    .decode(bytes) as unknown as { uuid: Uint8Array };
  assert.deepEqual(Buffer.from(raw.uuid), uuid);
  assert.equal(
    (codec.decode('mesos.v1.scheduler.Call.Acknowledge', bytes) as { uuid: string }).uuid,
    uuid.toString('base64'),
  );
  const empty = codec.decode('mesos.v1.UUID', codec.encode('mesos.v1.UUID', { value: '' }));
  assert.deepEqual(empty, { value: '' });
});

test('protobuf 64-bit integers: bigints encode exactly, decode as numbers as JSON.parse gives them', () => {
  const exact = 1732413604218774123n;
  const bytes = codec.encode('mesos.v1.TimeInfo', { nanoseconds: exact });
  const their = strictRoot().lookupType('mesos.v1.TimeInfo').decode(bytes) as unknown as {
    nanoseconds: { toString(): string };
  };
  assert.equal(their.nanoseconds.toString(), exact.toString());
  assert.deepEqual(
    codec.decode('mesos.v1.TimeInfo', bytes),
    JSON.parse(`{"nanoseconds":${exact}}`),
  );
  for (const nanoseconds of [0, 1, -1, -(2 ** 40), 2 ** 53 - 1, '42', 30000000000])
    assert.deepEqual(
      codec.decode('mesos.v1.DurationInfo', codec.encode('mesos.v1.DurationInfo', { nanoseconds })),
      { nanoseconds: Number(nanoseconds) },
    );
  assert.deepEqual(
    codec.decode(
      'mesos.v1.Value.Range',
      codec.encode('mesos.v1.Value.Range', { begin: 0, end: 2 ** 52 }),
    ),
    { begin: 0, end: 2 ** 52 },
  );
  assert.throws(
    () => codec.encode('mesos.v1.Value.Range', { begin: -1, end: 2 }),
    ProtoEncodeError,
  );
  assert.throws(() => codec.encode('mesos.v1.TimeInfo', { nanoseconds: 1.5 }), ProtoEncodeError);
  assert.throws(
    () => codec.encode('mesos.v1.TimeInfo', { nanoseconds: 2n ** 63n }),
    ProtoEncodeError,
  );
});

test('protobuf numeric primitives agree with an independent writer and reader', () => {
  const theirs = (write: (w: protobuf.Writer) => void) => {
    const w = protobuf.Writer.create();
    write(w);
    return Buffer.from(w.finish());
  };
  const ours = (write: (w: WireWriter) => void) => {
    const w = new WireWriter();
    write(w);
    return Buffer.from(w.finish());
  };
  const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
  fc.assert(
    fc.property(int64, fc.integer(), fc.double(), (n, i, d) => {
      const s = n.toString();
      assert.deepEqual(
        ours((w) => w.int64(n)),
        theirs((w) => w.int64(s)),
      );
      assert.deepEqual(
        ours((w) => w.sint64(n)),
        theirs((w) => w.sint64(s)),
      );
      assert.deepEqual(
        ours((w) => w.fixed64(n)),
        theirs((w) => w.sfixed64(s)),
      );
      assert.deepEqual(
        ours((w) => w.int32(i)),
        theirs((w) => w.int32(i)),
      );
      assert.deepEqual(
        ours((w) => w.sint32(i)),
        theirs((w) => w.sint32(i)),
      );
      assert.deepEqual(
        ours((w) => w.double(d)),
        theirs((w) => w.double(d)),
      );
      const expected = Number(n);
      const read = (bytes: Buffer, f: (r: WireReader) => number) => f(new WireReader(bytes));
      assert.equal(
        read(
          theirs((w) => w.int64(s)),
          (r) => r.int64(true),
        ),
        expected,
      );
      assert.equal(
        read(
          theirs((w) => w.sint64(s)),
          (r) => r.sint64(),
        ),
        expected,
      );
      assert.equal(
        read(
          theirs((w) => w.sfixed64(s)),
          (r) => r.fixed64(true),
        ),
        expected,
      );
      assert.equal(
        read(
          theirs((w) => w.int32(i)),
          (r) => r.int32(),
        ),
        i,
      );
      assert.equal(
        read(
          theirs((w) => w.sint32(i)),
          (r) => r.sint32(),
        ),
        i,
      );
      assert.ok(
        Object.is(
          read(
            theirs((w) => w.double(d)),
            (r) => r.double(),
          ),
          d,
        ),
      );
    }),
    { numRuns: 300 },
  );
});

test('protobuf maps are objects keyed by the map key; a key named __proto__ stays a key', () => {
  const type = 'mesos.v1.quota.QuotaConfig';
  const value = { role: 'eng', guarantees: { cpus: { value: 2 }, gpus: { value: 0 } } };
  assert.deepEqual(codec.decode(type, codec.encode(type, value)), value);
  const hostile = strictEncode(type, { role: 'eng' });
  const entry = new WireWriter();
  entry.tag(1, 2);
  entry.string('__proto__');
  entry.tag(2, 2);
  entry.bytes(codec.encode('mesos.v1.Value.Scalar', { value: 1 }));
  const withEntry = new WireWriter();
  withEntry.tag(2, 2);
  withEntry.bytes(entry.finish());
  const decoded = codec.decode(type, Buffer.concat([hostile, withEntry.finish()])) as {
    guarantees: Json;
  };
  assert.deepEqual(Object.keys(decoded.guarantees), ['__proto__']);
  assert.equal(Object.getPrototypeOf(decoded.guarantees), Object.prototype);
  // An entry without its value stands for the default value (an empty message).
  const keyOnly = new WireWriter();
  keyOnly.tag(1, 2);
  keyOnly.string('mem');
  const partial = new WireWriter();
  partial.tag(3, 2);
  partial.bytes(keyOnly.finish());
  assert.throws(
    () => codec.decode(type, Buffer.concat([hostile, partial.finish()])),
    (error: unknown) => error instanceof ProtoDecodeError && error.path === 'limits.mem.value',
  );
});

test('protobuf skips unknown fields of every wire type at any depth, and mistyped known ones', () => {
  const type = M.schedulerCall;
  const value = SAMPLES.find(([name]) => name === 'ACKNOWLEDGE')?.[2] ?? {};
  const unknown = new WireWriter();
  unknown.tag(1000, 0);
  unknown.uint32(123456);
  unknown.tag(1001, 1);
  unknown.double(1.5);
  unknown.tag(1002, 2);
  unknown.string('from a newer Mesos');
  unknown.tag(1003, 5);
  unknown.fixed32(7);
  unknown.tag(1004, 3);
  unknown.tag(1, 0);
  unknown.uint32(1);
  unknown.tag(1004, 4);
  // A known field with the wrong wire type is skipped too (field 2, `type`, as bytes).
  const extra = Buffer.from(unknown.finish());
  const mistyped = new WireWriter();
  mistyped.tag(2, 2);
  mistyped.string('ACKNOWLEDGE');
  const base = Buffer.from(codec.encode(type, value));
  assert.deepEqual(
    codec.decode(type, Buffer.concat([extra, base, extra, mistyped.finish()])),
    value,
  );
  // Inside a nested message: an unknown field in acknowledge.task_id.
  const task = new WireWriter();
  task.tag(1, 2);
  task.string(TASK.value);
  task.tag(99, 2);
  task.bytes(extra);
  const acknowledge = new WireWriter();
  acknowledge.tag(1, 2);
  acknowledge.bytes(codec.encode('mesos.v1.AgentID', AGENT));
  acknowledge.tag(2, 2);
  acknowledge.bytes(task.finish());
  acknowledge.tag(3, 2);
  acknowledge.bytes(Buffer.from(UUID, 'base64'));
  const call = new WireWriter();
  call.tag(1, 2);
  call.bytes(codec.encode('mesos.v1.FrameworkID', FW));
  call.tag(2, 0);
  call.int32(8);
  call.tag(8, 2);
  call.bytes(acknowledge.finish());
  assert.deepEqual(codec.decode(type, call.finish()), value);
});

test('protobuf reads packed and unpacked repeated numbers alike', () => {
  const type = 'mesos.v1.HealthCheck.HTTPCheckInfo';
  const packed = new WireWriter();
  packed.tag(1, 0);
  packed.uint32(8080);
  packed.tag(4, 2);
  const run = new WireWriter();
  for (const status of [200, 204, 301]) run.uint32(status);
  packed.bytes(run.finish());
  packed.tag(4, 0);
  packed.uint32(404);
  assert.deepEqual(codec.decode(type, packed.finish()), {
    port: 8080,
    statuses: [200, 204, 301, 404],
  });
});

test('protobuf merges a message field that appears twice, as protobuf parsers do', () => {
  const first = codec.encode('mesos.v1.Offer', {
    ...OFFER,
    url: { scheme: 'http', address: { port: 1 } },
  });
  const second = new WireWriter();
  second.tag(8, 2);
  second.bytes(
    codec.encode('mesos.v1.URL', {
      scheme: 'https',
      address: { hostname: 'h', port: 2 },
      path: '/p',
    }),
  );
  const decoded = codec.decode('mesos.v1.Offer', Buffer.concat([first, second.finish()])) as {
    url: Json;
  };
  assert.deepEqual(decoded.url, {
    scheme: 'https',
    address: { hostname: 'h', port: 2 },
    path: '/p',
  });
});

test('protobuf in pieces: a GET_STATE with lazy lists, cut in many pieces, reads as the whole message', () => {
  const sample = SAMPLES.find(([name]) => name === 'operator GET_STATE reply');
  assert.ok(sample !== undefined);
  const whole = sample[2] as {
    get_state: { get_tasks: { tasks: Json[] }; get_agents: { agents: Json[] } } & Json;
  };
  const taskOf = (i: number) => ({
    ...(whole.get_state.get_tasks.tasks[0] as Json),
    task_id: { value: `t-${i}` },
  });
  const agentOf = (i: number) => ({
    ...(whole.get_state.get_agents.agents[0] as Json),
    pid: `a${i}`,
  });
  const ids = Array.from({ length: 2_000 }, (_, i) => i);
  const expected = {
    ...whole,
    get_state: {
      ...whole.get_state,
      get_tasks: { tasks: ids.map(taskOf), completed_tasks: ids.slice(0, 7).map(taskOf) },
      get_agents: { ...whole.get_state.get_agents, agents: ids.map(agentOf) },
    },
  };
  let rendered = 0;
  const lazy = <T>(items: T[], render: (item: T) => unknown) =>
    lazyList(items, (item) => {
      rendered++;
      return render(item);
    });
  const lazyValue = {
    ...whole,
    get_state: {
      ...whole.get_state,
      get_tasks: { tasks: lazy(ids, taskOf), completed_tasks: lazy(ids.slice(0, 7), taskOf) },
      get_agents: { ...whole.get_state.get_agents, agents: lazy(ids, agentOf) },
    },
  };
  const pieces = [...codec.encodePieces(M.masterResponse, lazyValue, 16 * 1024)];
  assert.equal(rendered, 4_007, 'each item rendered once');
  assert.ok(pieces.length > 20, `${pieces.length} pieces`);
  assert.ok(
    pieces.every((piece) => piece.length < 20 * 1024),
    'no piece much over the size asked',
  );
  const bytes = Buffer.concat(pieces);
  assert.deepEqual(codec.decode(M.masterResponse, bytes), expected, 'Agora reads it whole');
  assert.deepEqual(
    strictDecode(M.masterResponse, bytes),
    expected,
    'a strict client reads it whole',
  );
  // Each piece on its own is a Response too (the first one carries `type`).
  assert.equal(codec.decode(M.masterResponse, pieces[0] ?? new Uint8Array()).type, 'GET_STATE');
  // Empty lazy lists still make their messages present, as the whole encoding does.
  const empty = {
    type: 'GET_STATE',
    get_state: {
      get_tasks: { tasks: lazyList([], taskOf) },
      get_agents: { agents: lazyList([], agentOf) },
    },
  };
  assert.deepEqual(
    codec.decode(M.masterResponse, Buffer.concat([...codec.encodePieces(M.masterResponse, empty)])),
    {
      type: 'GET_STATE',
      get_state: { get_tasks: {}, get_agents: {} },
    },
  );
  // A required field missing from a listed item is refused, naming it.
  const broken = {
    type: 'GET_STATE',
    get_state: { get_tasks: { tasks: lazyList([1], () => ({ name: 'x' })) } },
  };
  assert.throws(
    () => [...codec.encodePieces(M.masterResponse, broken)],
    (error: unknown) =>
      error instanceof ProtoEncodeError && /get_state\.get_tasks\.tasks/.test(error.message),
  );
});

test('protobuf refuses malformed bodies naming the field and the byte', () => {
  const type = M.schedulerCall;
  const good = Buffer.from(
    codec.encode(type, {
      framework_id: FW,
      type: 'ACKNOWLEDGE',
      acknowledge: { agent_id: AGENT, task_id: TASK, uuid: UUID },
    }),
  );
  const cases: [name: string, bytes: Uint8Array, path: RegExp, reason: RegExp][] = [
    [
      'cut in the middle',
      good.subarray(0, good.length - 3),
      /^acknowledge/,
      /past the end|cut short/,
    ],
    [
      'a varint of eleven bytes',
      Buffer.from([0x08, ...new Array(10).fill(0xff), 0x01]),
      /^framework_id$|^$/,
      /varint/,
    ],
    ['wire type 7', Buffer.from([0x0f]), /^$/, /invalid wire type 7/],
    ['field number 0', Buffer.from([0x00, 0x01]), /^$/, /field number 0/],
    ['an unmatched end of group', Buffer.from([0x0c]), /^$/, /end of group/],
    [
      'a string that is not UTF-8',
      Buffer.concat([
        Buffer.from([0x1a, 0x08, 0x0a, 0x06, 0x12, 0x04]),
        Buffer.from([0xff, 0xfe, 0x41, 0x42]),
      ]),
      /^subscribe\.framework_info\.name$/,
      /UTF-8/,
    ],
  ];
  for (const [name, bytes, path, reason] of cases)
    assert.throws(
      () => codec.decode(type, bytes),
      (error: unknown) =>
        error instanceof ProtoDecodeError &&
        path.test(error.path) &&
        reason.test(error.reason) &&
        error.offset >= 0,
      name,
    );
  const missing = codec.encode('mesos.v1.scheduler.Call.Acknowledge', {
    agent_id: AGENT,
    task_id: TASK,
    uuid: UUID,
  });
  const withoutUuid = missing.subarray(0, missing.length - 18);
  const call = new WireWriter();
  call.tag(8, 2);
  call.bytes(withoutUuid);
  assert.throws(
    () => codec.decode(type, call.finish()),
    (error: unknown) =>
      error instanceof ProtoDecodeError &&
      error.path === 'acknowledge.uuid' &&
      /missing required field/.test(error.reason),
  );
});

test('protobuf refuses messages nested deeper than the limit', () => {
  let bytes = codec.encode('mesos.v1.ContainerID', { value: 'leaf' });
  const wrap = (inner: Uint8Array) => {
    const w = new WireWriter();
    w.tag(1, 2);
    w.string('c');
    w.tag(2, 2);
    w.bytes(inner);
    return w.finish().slice();
  };
  for (let depth = 1; depth < MAX_PROTOBUF_DEPTH; depth++) bytes = wrap(bytes);
  assert.doesNotThrow(() => codec.decode('mesos.v1.ContainerID', bytes), 'at the limit');
  assert.throws(
    () => codec.decode('mesos.v1.ContainerID', wrap(bytes)),
    (error: unknown) => error instanceof ProtoDecodeError && /nested too deeply/.test(error.reason),
  );
  // Groups nested without end cannot recurse past it either.
  const groups = Buffer.alloc(200_000, 0x0b);
  assert.throws(() => codec.decode(M.schedulerCall, groups), ProtoDecodeError);
});

test('protobuf decoding of random bytes either succeeds or refuses; it never crashes', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(...Object.values(M)),
      (bytes, type) => {
        try {
          codec.decode(type, bytes);
        } catch (error) {
          assert.ok(error instanceof ProtoDecodeError, String(error));
        }
      },
    ),
    { numRuns: 2000 },
  );
  // Mutations of a real message exercise deeper paths than random bytes reach.
  const real = Buffer.from(
    codec.encode(M.schedulerEvent, SAMPLES.find(([n]) => n === 'OFFERS')?.[2] ?? {}),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      (edits) => {
        const bytes = Buffer.from(real);
        for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
        try {
          codec.decode(M.schedulerEvent, bytes);
        } catch (error) {
          assert.ok(error instanceof ProtoDecodeError, String(error));
        }
      },
    ),
    { numRuns: 1000 },
  );
});

test('protobuf encoding refuses what does not fit its message, naming the field', () => {
  const cases: [typeName: string, value: unknown, path: string][] = [
    [
      M.schedulerEvent,
      { type: 'UPDATE', update: { status: { state: 'TASK_RUNNING' } } },
      'update.status.task_id',
    ],
    ['mesos.v1.Offer', { ...OFFER, hostname: undefined }, 'hostname'],
    ['mesos.v1.Offer', { ...OFFER, resources: { name: 'cpus' } }, 'resources'],
    [
      'mesos.v1.Offer',
      { ...OFFER, url: { scheme: 'http', address: { port: 'many' } } },
      'url.address.port',
    ],
    ['mesos.v1.FrameworkInfo', { user: 'u', name: 7 }, 'name'],
    ['mesos.v1.FrameworkInfo', { user: 'u', name: 'n', checkpoint: 'yes' }, 'checkpoint'],
    ['mesos.v1.AgentInfo', 'not an object', ''],
  ];
  for (const [typeName, value, path] of cases)
    assert.throws(
      () => codec.encode(typeName, value),
      (error: unknown) => error instanceof ProtoEncodeError && error.path === path,
      path,
    );
  // Stout's leniency: numbers and booleans as strings, null as unset.
  assert.deepEqual(
    codec.decode(
      'mesos.v1.FrameworkInfo',
      codec.encode('mesos.v1.FrameworkInfo', {
        user: 'u',
        name: 'n',
        failover_timeout: '5',
        checkpoint: 'true',
        hostname: null,
      }),
    ),
    { user: 'u', name: 'n', failover_timeout: 5, checkpoint: true },
  );
});

test('protobuf codec loads once, from the .proto files when run from sources', async () => {
  const [a, b] = await Promise.all([loadProtoCodec(), loadProtoCodec()]);
  assert.equal(a, b);
  assert.ok(a.has(M.schedulerCall) && a.has(M.masterEvent) && a.has(M.executorEvent));
});

test('the strict client refuses a message that lacks a required field, as real clients do', () => {
  const offer = new WireWriter();
  for (const [id, value] of [
    [1, OFFER.id],
    [2, FW],
    [3, AGENT],
  ] as const) {
    offer.tag(id, 2);
    offer.bytes(codec.encode('mesos.v1.OfferID', value));
  }
  assert.throws(() => strictDecode('mesos.v1.Offer', offer.finish()), /hostname/);
  assert.throws(() => codec.decode('mesos.v1.Offer', offer.finish()), ProtoDecodeError);
});

test("every call the agent's operator API takes is in agent.proto, its body a field of Call", () => {
  const call = strictRoot().lookupType(M.agentCall);
  const types = strictRoot().lookupEnum(`${M.agentCall}.Type`).values;
  for (const type of AGENT_OPERATOR_CALL_TYPES) {
    assert.ok(types[type] !== undefined, `Call.Type.${type}`);
    // A call the schema refuses without a body has that body as the field named after it.
    const needsBody = (() => {
      try {
        parseAgentOperatorCall({ type });
        return false;
      } catch {
        return true;
      }
    })();
    if (needsBody) assert.ok(call.fields[type.toLowerCase()] !== undefined, `Call.${type}'s body`);
  }
  // A protobuf call decodes to what its JSON parses to, so the one schema takes both.
  const launch = {
    type: 'LAUNCH_NESTED_CONTAINER_SESSION',
    launch_nested_container_session: {
      container_id: { value: 'debug', parent: { value: 'c-1' } },
      command: { value: 'sh', shell: true },
    },
  };
  assert.deepEqual(
    parseAgentOperatorCall(codec.decode(M.agentCall, strictEncode(M.agentCall, launch))),
    parseAgentOperatorCall(JSON.parse(JSON.stringify(launch))),
  );
});
