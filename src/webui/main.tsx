// The Agora web UI (issue #14): one page app served by the master at `/`. It
// lives on the operator event stream (live tasks, agents, frameworks) and polls
// the master's JSON endpoints for what the stream does not carry (usage,
// roles, maintenance). Every request goes to the master's own origin.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { credentialNeeded, getJson, onCredentialChange, signIn } from './api.js';
import { AgentPage, AgentsPage } from './pages/agents.js';
import { FrameworksPage } from './pages/frameworks.js';
import { MaintenancePage } from './pages/maintenance.js';
import { OverviewPage } from './pages/overview.js';
import { RolesPage } from './pages/roles.js';
import { SandboxPage } from './pages/sandbox.js';
import { TasksPage } from './pages/tasks.js';
import { href, type Route, useRoute } from './router.js';
import { type Sample, store, useStore } from './store.js';
import { followEvents, type LinkState } from './stream.js';
import './style.css';

const PAGES = [
  ['overview', 'Overview'],
  ['agents', 'Agents'],
  ['frameworks', 'Frameworks'],
  ['roles', 'Roles'],
  ['tasks', 'Tasks'],
  ['maintenance', 'Maintenance'],
] as const;

const SAMPLE_EVERY_MS = 5000;
const MIN_SAMPLE_GAP_MS = 1000;
const RESOURCE_NAMES = ['cpus', 'mem', 'disk', 'gpus'];

interface LegacySlaves {
  readonly slaves: readonly {
    readonly resources: Record<string, unknown>;
    readonly offered_resources: Record<string, unknown>;
  }[];
}

/** One sample: totals and use from /metrics/snapshot, offers summed from /master/slaves. */
async function takeSample(): Promise<Sample> {
  const [metrics, slaves] = await Promise.all([
    getJson<Record<string, number>>('/metrics/snapshot'),
    getJson<LegacySlaves>('/master/slaves'),
  ]);
  const byName: Record<string, { total: number; used: number; offered: number }> = {};
  for (const name of RESOURCE_NAMES) {
    let offered = 0;
    for (const slave of slaves.slaves) {
      const value = slave.offered_resources[name];
      if (typeof value === 'number') offered += value;
    }
    byName[name] = {
      total: metrics[`master/${name}_total`] ?? 0,
      used: metrics[`master/${name}_used`] ?? 0,
      offered,
    };
  }
  return { atMs: Date.now(), byName };
}

function startSampling(signal: AbortSignal): () => void {
  let lastMs = 0;
  let pending: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    pending = undefined;
    lastMs = Date.now();
    try {
      store.addSample(await takeSample());
    } catch {
      // The link banner already says when the master is away; the next tick retries.
    }
  };
  const soon = () => {
    if (pending !== undefined || signal.aborted) return;
    pending = setTimeout(() => void run(), Math.max(0, lastMs + MIN_SAMPLE_GAP_MS - Date.now()));
  };
  const timer = setInterval(soon, SAMPLE_EVERY_MS);
  signal.addEventListener('abort', () => {
    clearInterval(timer);
    clearTimeout(pending);
  });
  soon();
  return soon;
}

function LinkBanner(props: { link: LinkState }) {
  const { link } = props;
  switch (link.kind) {
    case 'connecting':
      return (
        <p class="link connecting" role="status">
          Connecting to the master's event stream…
        </p>
      );
    case 'live':
      return (
        <p class="link live" role="status">
          Live
          {link.reconnects > 0
            ? ` · reconnected ${new Date(link.sinceMs).toLocaleTimeString()} (stream dropped ${link.reconnects}×)`
            : ''}
        </p>
      );
    case 'reconnecting':
      return (
        <p class="link reconnecting" role="alert">
          Event stream lost ({link.reason}); reconnecting…
        </p>
      );
    default:
      return null;
  }
}

/** Shown when the master answered 401: the master runs with authentication on. */
function SignIn() {
  const [isNeeded, setNeeded] = useState(credentialNeeded());
  useEffect(() => onCredentialChange(() => setNeeded(credentialNeeded())), []);
  if (!isNeeded) return null;
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    signIn(String(form.get('principal') ?? ''), String(form.get('secret') ?? ''));
  };
  return (
    <form class="sign-in" onSubmit={submit} aria-label="Sign in">
      <p role="alert">The master asks for credentials.</p>
      <label>
        Principal <input name="principal" autoComplete="username" required />
      </label>
      <label>
        Secret <input name="secret" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit">Sign in</button>
    </form>
  );
}

function Page(props: { route: Route }) {
  const [page = 'overview', ...rest] = props.route.parts;
  switch (page) {
    case 'agents':
      return rest[0] === undefined ? (
        <AgentsPage route={props.route} />
      ) : (
        <AgentPage agentId={rest[0]} />
      );
    case 'frameworks':
      return <FrameworksPage />;
    case 'roles':
      return <RolesPage />;
    case 'tasks':
      return <TasksPage route={props.route} />;
    case 'sandbox':
      return <SandboxPage route={props.route} />;
    case 'maintenance':
      return <MaintenancePage />;
    default:
      return <OverviewPage />;
  }
}

function App() {
  const route = useRoute();
  const { link } = useStore();
  const current = route.parts[0] ?? 'overview';
  // After a page change, keyboard focus moves to the new page's content, as a page load would.
  const isFirst = useRef(true);
  useEffect(() => {
    if (isFirst.current) {
      isFirst.current = false;
      return;
    }
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [current]);
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header>
        <span class="brand">Agora</span>
        <nav aria-label="Pages">
          {PAGES.map(([id, label]) => (
            <a key={id} href={href([id])} aria-current={current === id ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <LinkBanner link={link} />
      </header>
      <SignIn />
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}

const abort = new AbortController();
const sampleSoon = startSampling(abort.signal);
void followEvents({
  signal: abort.signal,
  onEvent: (event) => {
    store.onEvent(event);
    if (event.type !== 'HEARTBEAT') sampleSoon();
  },
  onLink: (link) => store.onLink(link),
});
const root = document.getElementById('app');
if (root !== null) render(<App />, root);
