import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AclsError, isAuthorized, parseAcls } from '../../src/runtime/authorizer.js';

test('authorizer lets the first matching rule decide', () => {
  const acls = parseAcls({
    run_tasks: [
      { principals: { values: ['foo'] }, users: { values: ['root'] } },
      { principals: { values: ['foo'] }, users: { type: 'NONE' } },
    ],
  });
  assert.equal(isAuthorized(acls, 'run_tasks', 'foo', 'root'), true);
  assert.equal(isAuthorized(acls, 'run_tasks', 'foo', 'guest'), false);
  // No rule names bar: permissive by default.
  assert.equal(isAuthorized(acls, 'run_tasks', 'bar', 'root'), true);
});

test('authorizer: an allowing rule ahead of a denying one wins, and the reverse', () => {
  const allowFirst = parseAcls({
    update_weight: [
      { principals: { type: 'ANY' }, roles: { values: ['a'] } },
      { principals: { type: 'ANY' }, roles: { type: 'NONE' } },
    ],
  });
  assert.equal(isAuthorized(allowFirst, 'update_weight', 'x', 'a'), true);
  assert.equal(isAuthorized(allowFirst, 'update_weight', 'x', 'b'), false);
  const denyFirst = parseAcls({
    update_weight: [
      { principals: { values: ['x'] }, roles: { type: 'NONE' } },
      { principals: { type: 'ANY' }, roles: { type: 'ANY' } },
    ],
  });
  assert.equal(isAuthorized(denyFirst, 'update_weight', 'x', 'a'), false);
  assert.equal(isAuthorized(denyFirst, 'update_weight', 'y', 'a'), true);
});

test('authorizer with permissive false refuses what no rule allows', () => {
  const acls = parseAcls({
    permissive: false,
    register_frameworks: [{ principals: { type: 'ANY' }, roles: { values: ['web'] } }],
  });
  assert.equal(isAuthorized(acls, 'register_frameworks', 'fw', 'web'), true);
  assert.equal(isAuthorized(acls, 'register_frameworks', 'fw', 'batch'), false);
  assert.equal(isAuthorized(acls, 'teardown_frameworks', 'ops', 'fw'), false);
});

test('authorizer matches an anonymous caller only by ANY or NONE principals', () => {
  const acls = parseAcls({
    permissive: false,
    view_frameworks: [
      { principals: { values: ['ops'] }, users: { type: 'ANY' } },
      { principals: { type: 'NONE' }, users: { type: 'ANY' } },
    ],
  });
  assert.equal(isAuthorized(acls, 'view_frameworks', 'ops', 'alice'), true);
  // NONE matches and then denies: nobody anonymous may view.
  assert.equal(isAuthorized(acls, 'view_frameworks', undefined, 'alice'), false);
  const anyone = parseAcls({
    permissive: false,
    view_frameworks: [{ principals: { type: 'ANY' }, users: { type: 'ANY' } }],
  });
  assert.equal(isAuthorized(anyone, 'view_frameworks', undefined, 'alice'), true);
});

test('authorizer refuses ACLs it cannot read, naming the field', () => {
  for (const [json, pattern] of [
    [[], /JSON object/],
    [{ permissive: 'yes' }, /permissive/],
    [{ launch_rockets: [] }, /launch_rockets: not an action/],
    [{ run_tasks: {} }, /run_tasks: expected a list/],
    [{ run_tasks: [{ principals: { type: 'SOME_OF' } }] }, /run_tasks\[0\]\.principals\.type/],
    [{ run_tasks: [{ principals: { values: [1] } }] }, /principals\.values/],
    [
      { run_tasks: [{ principals: { type: 'ANY' }, roles: { type: 'ANY' } }] },
      /run_tasks\[0\]\.roles/,
    ],
  ] as const)
    assert.throws(
      () => parseAcls(json),
      (error: unknown) => {
        assert.ok(error instanceof AclsError);
        assert.match(error.message, pattern);
        return true;
      },
    );
});

test("authorizer reads an ACL file written for Mesos, with Mesos' plural action names", () => {
  const acls = parseAcls({
    permissive: false,
    update_quotas: [{ principals: { values: ['ops'] }, roles: { values: ['eng'] } }],
    update_quota: [{ principals: { values: ['dev'] }, roles: { type: 'ANY' } }],
    update_weights: [{ principals: { values: ['ops'] }, roles: { type: 'ANY' } }],
    update_maintenance_schedules: [{ principals: { values: ['ops'] }, machines: { type: 'ANY' } }],
    drain_agents: [{ principals: { values: ['ops'] }, agents: { type: 'ANY' } }],
    mark_agents_gone: [{ principals: { type: 'ANY' }, agents: { type: 'NONE' } }],
  });
  assert.equal(isAuthorized(acls, 'update_quota', 'ops', 'eng'), true);
  assert.equal(isAuthorized(acls, 'update_quota', 'ops', 'web'), false);
  assert.equal(isAuthorized(acls, 'update_quota', 'dev', 'web'), true, 'both spellings count');
  assert.equal(isAuthorized(acls, 'update_weight', 'ops', 'eng'), true);
  assert.equal(isAuthorized(acls, 'update_maintenance_schedule', 'ops', 'host-1'), true);
  assert.equal(isAuthorized(acls, 'drain_agent', 'ops', 'a1'), true);
  assert.equal(isAuthorized(acls, 'mark_agent_gone', 'ops', 'a1'), false);
});

test("authorizer loads a file naming every action of Mesos' ACLs message, each with its object", () => {
  // acls.proto's ACLs message (Mesos 1.11): its fields and each rule's object field.
  const mesosActions: Record<string, string> = {
    register_frameworks: 'roles',
    run_tasks: 'users',
    reserve_resources: 'roles',
    unreserve_resources: 'reserver_principals',
    create_volumes: 'roles',
    destroy_volumes: 'creator_principals',
    teardown_frameworks: 'framework_principals',
    update_weights: 'roles',
    get_endpoints: 'paths',
    get_quotas: 'roles',
    update_quotas: 'roles',
    view_frameworks: 'users',
    view_tasks: 'users',
    view_executors: 'users',
    access_sandboxes: 'users',
    access_mesos_logs: 'logs',
    view_roles: 'roles',
    view_flags: 'flags',
    launch_nested_containers_as_user: 'users',
    launch_nested_containers_under_parent_with_user: 'users',
    kill_nested_containers: 'users',
    wait_nested_containers: 'users',
    launch_nested_container_sessions_as_user: 'users',
    launch_nested_container_sessions_under_parent_with_user: 'users',
    attach_containers_input: 'users',
    attach_containers_output: 'users',
    view_containers: 'users',
    set_log_level: 'level',
    remove_nested_containers: 'users',
    register_agents: 'agents',
    update_maintenance_schedules: 'machines',
    get_maintenance_schedules: 'machines',
    start_maintenances: 'machines',
    stop_maintenances: 'machines',
    get_maintenance_statuses: 'machines',
    drain_agents: 'agents',
    deactivate_agents: 'agents',
    reactivate_agents: 'agents',
    mark_agents_gone: 'agents',
    launch_standalone_containers: 'users',
    kill_standalone_containers: 'users',
    wait_standalone_containers: 'users',
    remove_standalone_containers: 'users',
    view_standalone_containers: 'users',
    modify_resource_provider_configs: 'resource_providers',
    mark_resource_providers_gone: 'resource_providers',
    view_resource_providers: 'resource_providers',
    prune_images: 'images',
    resize_volumes: 'roles',
    create_block_disks: 'roles',
    destroy_block_disks: 'roles',
    create_mount_disks: 'roles',
    destroy_mount_disks: 'roles',
    destroy_raw_disks: 'roles',
  };
  const file = Object.fromEntries(
    Object.entries(mesosActions).map(([action, object]) => [
      action,
      [{ principals: { values: ['ops'] }, [object]: { type: 'ANY' } }],
    ]),
  );
  const acls = parseAcls({ permissive: false, ...file });
  for (const action of ['view_flags', 'view_roles', 'get_quotas', 'register_agents'] as const) {
    assert.equal(isAuthorized(acls, action, 'ops', undefined), true, action);
    assert.equal(isAuthorized(acls, action, 'guest', undefined), false, action);
  }
  // The object field is the one Mesos names: another is refused, naming it.
  assert.throws(
    () => parseAcls({ view_roles: [{ principals: { type: 'ANY' }, users: { type: 'ANY' } }] }),
    /view_roles\[0\]\.users: view_roles takes principals and roles/,
  );
});
