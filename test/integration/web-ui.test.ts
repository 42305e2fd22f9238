// The web UI in a real browser against a real cluster (issue #14): Debian's
// chromium, driven over CDP by playwright-core, started and stopped here by PID
// (its own process group). Each page must show the cluster's real data; a
// launched task must appear within a second; the sandbox tail must grow; the
// kill button must end the task; a dropped event stream must come back by
// itself and say so; and no request may leave the master's origin. A
// screenshot of each page goes to test-artifacts/web-ui/.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { openStream } from '../../src/sdk/index.js';
import { defer, ROOT, runCli, startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'web-ui');
/** Everything here, the cluster and a possible chromium install included. */
const TEST_TIMEOUT_MS = 15 * 60_000;
/** The bound on a new task reaching the tasks page. */
const TASK_VISIBLE_MS = 1000;

/** `npm test` must work on a fresh machine: install Debian's chromium when it is missing. */
function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env, timeout: 10 * 60_000 });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (${result.status})`);
  }
}

interface Browser {
  readonly process: ChildProcess;
  readonly wsEndpoint: string;
  stop(): Promise<void>;
}

/** Starts headless chromium in a process group of its own; stop() kills that group by PID. */
async function startChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'agora-chromium-'));
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--hide-scrollbars',
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    rmSync(profile, { recursive: true, force: true });
  };
  const stderr: string[] = [];
  let endpoint: string | undefined;
  if (child.stderr !== null)
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.push(line);
      endpoint ??= /DevTools listening on (ws:\/\/\S+)/.exec(line)?.[1];
    });
  try {
    const wsEndpoint = await waitFor('chromium to listen for DevTools', () => {
      if (child.exitCode !== null) throw new Error(`chromium exited: ${stderr.join('\n')}`);
      return endpoint;
    });
    return { process: child, wsEndpoint, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function go(page: Page, hash: string): Promise<void> {
  // Expressions as strings: they run in the page, whose globals this file's types lack.
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

test('web UI shows the live cluster in a real browser', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  ensureChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  const cluster = await startCluster({
    agents: 2,
    agentResources: 'cpus:2;mem:1024;disk:2048',
    // One operator stream at most: a second SUBSCRIBE drops the page's, as a
    // network cut would, and the page has to come back by itself.
    masterArgs: ['--max_operator_event_stream_subscribers', '1'],
  });
  defer(t, () => cluster.stop());
  const origin = new URL(cluster.masterUrl).origin;

  // Data for the roles and maintenance pages.
  const quota = await fetch(`${origin}/api/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'UPDATE_QUOTA',
      update_quota: {
        quota_configs: [
          { role: 'eng', guarantees: { cpus: { value: 1 } }, limits: { cpus: { value: 2 } } },
        ],
      },
    }),
  });
  assert.equal(quota.status, 200, await quota.text());
  const windowStartNs = (Date.now() + 24 * 3600_000) * 1e6;
  const schedule = await fetch(`${origin}/master/maintenance/schedule`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      windows: [
        {
          machine_ids: [{ hostname: 'spare.example', ip: '10.0.0.99' }],
          unavailability: {
            start: { nanoseconds: windowStartNs },
            duration: { nanoseconds: 3600 * 1e9 },
          },
        },
      ],
    }),
  });
  assert.equal(schedule.status, 200, await schedule.text());

  const framework = await TaskFramework.start(cluster.masterUrl, 'web-ui-test');
  defer(t, () => framework.stop());

  const browser = await startChromium();
  defer(t, () => browser.stop());
  const connection = await chromium.connectOverCDP(browser.wsEndpoint, { timeout: 30_000 });
  defer(t, () => connection.close().catch(() => undefined));
  const context = connection.contexts()[0] ?? (await connection.newContext());
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  const foreign: string[] = [];
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('data:') && new URL(url).origin !== origin) foreign.push(url);
  });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));

  // Overview: counts, the leader, and the resource charts.
  const index = await fetch(`${origin}/`);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const etag = index.headers.get('etag') ?? '';
  const revalidated = await fetch(`${origin}/`, { headers: { 'if-none-match': etag } });
  assert.equal(revalidated.status, 304, 'an unchanged index.html is not sent again');
  assert.equal((await fetch(`${origin}/assets/missing.js`)).status, 404);
  await page.goto(`${origin}/`);
  await page.locator('.link.live').waitFor({ timeout: 15_000 });
  await waitFor('the overview to count 2 agents', async () =>
    (await page.locator('[data-testid=agents-count] .big').textContent()) === '2'
      ? true
      : undefined,
  );
  // The leader card fills from its own GET_MASTER call, which may answer after the counts.
  await waitFor('the overview to name the leading master', async () =>
    new RegExp(`:${new URL(origin).port}`).test(
      (await page.locator('[data-testid=leader]').textContent()) ?? '',
    )
      ? true
      : undefined,
  );
  await waitFor('the cpus chart to show the cluster total', async () =>
    /of 4\b/.test((await page.locator('figure[data-resource=cpus]').textContent()) ?? '')
      ? true
      : undefined,
  );
  await waitFor('the cpus chart to draw two samples', async () =>
    Number(await page.locator('figure[data-resource=cpus]').getAttribute('data-samples')) >= 2
      ? true
      : undefined,
  );
  const asset = await page.evaluate<string>(
    "document.querySelector('script[type=module]')?.getAttribute('src') ?? ''",
  );
  const assetAnswer = await fetch(`${origin}${asset}`);
  assert.match(assetAnswer.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
  await screenshot(page, 'overview');

  // Tasks: a launched task appears within a second and goes on to run.
  await go(page, '#/tasks');
  await page.getByRole('heading', { name: 'Tasks' }).waitFor();
  const launchedMs = performance.now();
  const command = 'i=0; while true; do echo "tick-$i"; i=$((i+1)); sleep 0.2; done';
  const agentId = await framework.launch({ 'ui-tail': command });
  const row = page.locator('tr[data-task-id="ui-tail"]');
  await row.waitFor({ timeout: 10_000 });
  const visibleMs = performance.now() - launchedMs;
  console.log(`web UI: task on the tasks page ${Math.round(visibleMs)} ms after launch`);
  assert.ok(visibleMs <= TASK_VISIBLE_MS, `task visible after ${visibleMs} ms`);
  await row.locator('[data-state=TASK_RUNNING]').waitFor({ timeout: 15_000 });
  // And one launched by `agora run`, which reports its launch on stderr.
  const run = runCli(['run', '--master', cluster.masterUrl, '--', 'sleep 120'], {
    detached: true,
    timeoutMs: 5 * 60_000,
  });
  defer(t, () => run.killAll());
  const launchedLine = await run.stderrMatches(/task \S+ launched/);
  const sinceRunLaunchMs = performance.now();
  const runTaskId = /task (\S+) launched/.exec(launchedLine)?.[1] ?? '';
  const runRow = page.locator(`tr[data-task-id="${runTaskId}"]`);
  await runRow.waitFor({ timeout: 10_000 });
  const runVisibleMs = performance.now() - sinceRunLaunchMs;
  console.log(
    `web UI: agora run's task on the page ${Math.round(runVisibleMs)} ms after it said so`,
  );
  assert.ok(runVisibleMs <= TASK_VISIBLE_MS, `agora run's task visible after ${runVisibleMs} ms`);
  await page.getByRole('searchbox').fill('ui-tail');
  await waitFor('the search to keep only the task', async () =>
    (await page.locator('tbody tr').count()) === 1 ? true : undefined,
  );
  await screenshot(page, 'tasks');

  // The task's sandbox: listing, then stdout followed as it grows.
  await row.getByRole('link', { name: 'Sandbox' }).click();
  await page.locator('[data-testid=listing] a', { hasText: 'stdout' }).waitFor();
  await page.getByRole('link', { name: 'stdout', exact: true }).first().click();
  const tickOf = async () => {
    const text = (await page.locator('[data-testid=tail]').textContent()) ?? '';
    const ticks = [...text.matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));
    return ticks.length === 0 ? undefined : Math.max(...ticks);
  };
  const first = await waitFor('the tail to show output', tickOf);
  await waitFor('the tail to show new output', async () => {
    const latest = await tickOf();
    return latest !== undefined && latest >= first + 3 ? latest : undefined;
  });
  const download = await page.getByRole('link', { name: 'Download' }).getAttribute('href');
  assert.match(download ?? '', /^\/master\/agents\/.+\/files\/download\?path=/);
  await screenshot(page, 'sandbox');

  // Agents: the table, then the task's agent with live container usage.
  await go(page, '#/agents');
  await waitFor('both agents in the table', async () =>
    (await page.locator('tr[data-agent-id]').count()) === 2 ? true : undefined,
  );
  await screenshot(page, 'agents');
  await page.locator(`tr[data-agent-id="${agentId}"] a`).click();
  await waitFor('live usage of the task', async () =>
    ((await page.locator('[data-testid=usage] tbody').textContent()) ?? '').includes('ui-tail')
      ? true
      : undefined,
  );
  const cpusRow = page.locator('tr', { has: page.getByRole('rowheader', { name: 'cpus' }) });
  await waitFor("the agent to show the task's cpus in use", async () => {
    const used = (await cpusRow.locator('td').nth(1).textContent()) ?? '';
    return Number(used) > 0 ? used : undefined;
  });
  await screenshot(page, 'agent');

  // Frameworks, roles, maintenance.
  await go(page, '#/frameworks');
  await page.locator('tr[data-framework-id]', { hasText: 'web-ui-test' }).waitFor();
  await screenshot(page, 'frameworks');
  await go(page, '#/roles');
  await page.locator('[data-role=eng] .bar').first().waitFor();
  assert.match(
    (await page.locator('[data-role=eng]').textContent()) ?? '',
    /guarantee 1 · limit 2/,
  );
  await screenshot(page, 'roles');
  await go(page, '#/maintenance');
  await page.getByRole('cell', { name: /spare\.example/ }).waitFor();
  await screenshot(page, 'maintenance');

  // Keyboard only: Tab to the Tasks link and follow it with Enter.
  await page.locator('body').focus();
  await waitFor('Tab to reach the Tasks link', async () => {
    await page.keyboard.press('Tab');
    return (await page.evaluate<string>('document.activeElement?.textContent ?? ""')) === 'Tasks'
      ? true
      : undefined;
  });
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Tasks' }).waitFor();

  // Kill from the UI: the confirming second click kills the task's container.
  await page.getByRole('searchbox').fill('ui-tail');
  await row.getByRole('button', { name: 'Kill ui-tail' }).click();
  await row.getByRole('button', { name: 'Confirm: kill ui-tail' }).click();
  const terminal = await waitFor('the task to end', () =>
    framework
      .updates('ui-tail')
      .find((s) => ['TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED'].includes(s.state)),
  );
  await row.locator(`[data-state=${terminal.state}]`).waitFor({ timeout: 10_000 });
  // Killing agora run's task from the UI ends `agora run` with 128 + SIGKILL.
  await page.getByRole('searchbox').fill(runTaskId);
  await runRow.getByRole('button', { name: `Kill ${runTaskId}` }).click();
  await runRow.getByRole('button', { name: `Confirm: kill ${runTaskId}` }).click();
  assert.equal((await run.result).code, 137, 'agora run exits as its killed task did');

  // A dropped stream: another subscriber takes the only slot; the page reconnects.
  const rival = await openStream(new URL('/api/v1', origin), {
    method: 'POST',
    body: JSON.stringify({ type: 'SUBSCRIBE' }),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
  });
  defer(t, () => rival.destroy());
  rival.resume();
  await page.locator('.link.live', { hasText: 'reconnected' }).waitFor({ timeout: 20_000 });

  // A narrow screen: nothing wider than the viewport but the scrolling tables.
  await page.setViewportSize({ width: 360, height: 740 });
  for (const [hash, name] of [
    ['#/overview', 'narrow-overview'],
    ['#/tasks', 'narrow-tasks'],
  ] as const) {
    await go(page, hash);
    await page.locator('main h1').waitFor();
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    assert.ok(overflow <= 1, `${name}: the page is ${overflow}px wider than the screen`);
    await screenshot(page, name);
  }

  assert.deepEqual(foreign, [], 'every request stays on the master');
  assert.deepEqual(pageErrors, [], 'no script errors');
});
