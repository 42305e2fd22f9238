import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram } from '../../src/master/core/metrics.js';
import { prometheusText } from '../../src/master/http/prometheus.js';

test('prometheus text names metrics as Mesos does, with path parts as labels', () => {
  const allocationRun = new Histogram();
  const offerAccept = new Histogram();
  for (const ms of [0.05, 0.3, 3, 3, 70_000]) allocationRun.observe(ms);
  const text = prometheusText(
    {
      'master/tasks_running': 3,
      'master/frameworks/my%20app/fw-1/calls/accept': 7,
      'master/task_failed/source_executor/reason_command_executor_failed': 1,
      'allocator/mesos/roles/eng/web/shares/dominant': 0.25,
      'allocator/mesos/allocation_run_ms/p99': 12,
      'master/frameworks/we"ird/fw-2/subscribed': 1,
      'master/frameworks/my%20app/fw-1/roles/eng/web/suppressed': 1,
    },
    { allocationRun, offerAccept },
  );
  const lines = text.split('\n');
  assert.ok(
    lines.includes(
      'mesos_master_framework_role_suppressed{framework_name="my app",framework_id="fw-1",role="eng/web"} 1',
    ),
  );
  assert.ok(lines.includes('mesos_master_tasks_running 3'));
  assert.ok(
    lines.includes(
      'mesos_master_framework_calls_accept{framework_name="my app",framework_id="fw-1"} 7',
    ),
  );
  assert.ok(
    lines.includes(
      'mesos_master_task_status_updates{state="failed",source="executor",reason="command_executor_failed"} 1',
    ),
  );
  assert.ok(lines.includes('mesos_allocator_role_dominant_share{role="eng/web"} 0.25'));
  assert.ok(
    lines.some((l) => l.includes('framework_name="we\\"ird"')),
    'quotes are escaped',
  );
  assert.ok(!text.includes('allocation_run_ms'), 'window percentiles give way to the histogram');
  // Cumulative buckets in seconds: 0.05 ms <= 0.1 ms; 0.3 <= 0.5; 3 <= 5; 70 s only in +Inf.
  assert.ok(lines.includes('mesos_allocator_allocation_run_seconds_bucket{le="0.0001"} 1'));
  assert.ok(lines.includes('mesos_allocator_allocation_run_seconds_bucket{le="0.0005"} 2'));
  assert.ok(lines.includes('mesos_allocator_allocation_run_seconds_bucket{le="0.005"} 4'));
  assert.ok(lines.includes('mesos_allocator_allocation_run_seconds_bucket{le="60"} 4'));
  assert.ok(lines.includes('mesos_allocator_allocation_run_seconds_bucket{le="+Inf"} 5'));
  assert.ok(lines.includes('mesos_allocator_allocation_run_seconds_count 5'));
  assert.ok(lines.includes('mesos_master_offer_accept_seconds_count 0'));
  for (const line of lines.filter((l) => l !== '' && !l.startsWith('#')))
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eE]+$/, line);
});
