import { useEffect, useRef, useState } from 'preact/hooks';
import { agentPath, getJson } from '../api.js';
import { rawBytes } from '../format.js';
import { href, type Route } from '../router.js';
import { usePoll } from '../store.js';

interface AgentState {
  readonly frameworks?: readonly AgentFramework[];
  readonly completed_frameworks?: readonly AgentFramework[];
}
interface AgentFramework {
  readonly id: string;
  readonly executors?: readonly { readonly id: string; readonly directory: string }[];
  readonly completed_executors?: readonly { readonly id: string; readonly directory: string }[];
}
interface FileEntry {
  readonly path: string;
  readonly size: number;
  readonly mode: string;
  readonly mtime: number;
}

/** What one read asks for: /files/read gives at most 64 KiB (WIRE §7.4). */
const READ_BYTES = 64 * 1024;
/** Text kept on screen; older output scrolls away. */
const MAX_SHOWN_CHARS = 256 * 1024;
const TAIL_EVERY_MS = 1000;

function findDirectory(
  state: AgentState,
  frameworkId: string,
  executorId: string,
): string | undefined {
  for (const framework of [...(state.frameworks ?? []), ...(state.completed_frameworks ?? [])]) {
    if (framework.id !== frameworkId) continue;
    for (const executor of [
      ...(framework.executors ?? []),
      ...(framework.completed_executors ?? []),
    ])
      if (executor.id === executorId) return executor.directory;
  }
  return undefined;
}

function Tail(props: { agentId: string; path: string }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>();
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let offset = -1;
    const encoder = new TextEncoder();
    const read = (from: number) =>
      getJson<{ offset: number; data: string }>(
        agentPath(
          props.agentId,
          `files/read?${new URLSearchParams({ path: props.path, offset: String(from), length: String(READ_BYTES) })}`,
        ),
        abort.signal,
      );
    const tick = async () => {
      try {
        if (offset < 0) {
          const { offset: size } = await read(-1);
          offset = Math.max(0, size - READ_BYTES);
        }
        for (let pages = 0; pages < 16 && !abort.signal.aborted; pages++) {
          const { data } = await read(offset);
          if (data.length === 0) break;
          offset += encoder.encode(data).length;
          const el = pre.current;
          const atBottom = el === null || el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
          setText((t) => (t + data).slice(-MAX_SHOWN_CHARS));
          if (atBottom) requestAnimationFrame(() => el?.scrollTo({ top: el.scrollHeight }));
        }
        setError(undefined);
      } catch (e) {
        if (!abort.signal.aborted) setError(e instanceof Error ? e.message : String(e));
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void tick(), TAIL_EVERY_MS);
    };
    setText('');
    void tick();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [props.agentId, props.path]);
  return (
    <div class="tail">
      <p>
        Following <span class="mono">{props.path.split('/').pop()}</span>{' '}
        <a
          href={agentPath(
            props.agentId,
            `files/download?${new URLSearchParams({ path: props.path })}`,
          )}
          download
        >
          Download
        </a>
      </p>
      {error ? <p class="error">{error}</p> : null}
      <pre
        ref={pre}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling box must take focus to scroll by keyboard
        tabIndex={0}
        data-testid="tail"
      >
        {text}
      </pre>
    </div>
  );
}

export function SandboxPage(props: { route: Route }) {
  const [, agentId = '', frameworkId = '', executorId = ''] = props.route.parts;
  const sub = props.route.query.get('path') ?? '';
  const file = props.route.query.get('file') ?? '';
  const state = usePoll(
    (signal) => getJson<AgentState>(agentPath(agentId, 'state'), signal),
    60_000,
    [agentId],
  );
  const directory =
    state.value === undefined ? undefined : findDirectory(state.value, frameworkId, executorId);
  const dir = directory === undefined ? undefined : sub === '' ? directory : `${directory}/${sub}`;
  const listing = usePoll(
    async (signal) =>
      dir === undefined
        ? undefined
        : getJson<FileEntry[]>(
            agentPath(agentId, `files/browse?${new URLSearchParams({ path: dir })}`),
            signal,
          ),
    5000,
    [agentId, dir],
  );
  const base = ['sandbox', agentId, frameworkId, executorId];
  const link = (query: Record<string, string>) =>
    href(base, Object.fromEntries(Object.entries(query).filter(([, v]) => v !== '')));
  const parent = sub.split('/').slice(0, -1).join('/');
  return (
    <section aria-labelledby="sandbox-title">
      <h1 id="sandbox-title">Sandbox</h1>
      <p class="mono small">
        executor {executorId} · framework {frameworkId} · agent {agentId}
      </p>
      {state.error ? <p class="error">{state.error}</p> : null}
      {state.value !== undefined && directory === undefined ? (
        <p class="error">
          The agent has no sandbox for this executor (it may have been garbage-collected).
        </p>
      ) : null}
      {dir !== undefined ? (
        <>
          <p class="mono small">{dir}</p>
          <p>
            <a href={link({ path: sub, file: 'stdout' })}>stdout</a> ·{' '}
            <a href={link({ path: sub, file: 'stderr' })}>stderr</a>
            {sub !== '' ? (
              <>
                {' '}
                · <a href={link({ path: parent })}>Up</a>
              </>
            ) : null}
          </p>
          {listing.error ? <p class="error">{listing.error}</p> : null}
          <div class="scroll">
            <table data-testid="listing">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Size</th>
                  <th scope="col">Modified</th>
                </tr>
              </thead>
              <tbody>
                {(listing.value ?? []).map((entry) => {
                  const name = entry.path.split('/').pop() ?? entry.path;
                  const isDir = entry.mode.startsWith('d');
                  const childPath = sub === '' ? name : `${sub}/${name}`;
                  return (
                    <tr key={entry.path}>
                      <td>
                        <a
                          href={isDir ? link({ path: childPath }) : link({ path: sub, file: name })}
                        >
                          {name}
                          {isDir ? '/' : ''}
                        </a>
                      </td>
                      <td class="mono">{entry.mode}</td>
                      <td>{isDir ? '' : rawBytes(entry.size)}</td>
                      <td>{new Date(entry.mtime * 1000).toLocaleString()}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {file !== '' ? <Tail agentId={agentId} path={`${dir}/${file}`} /> : null}
        </>
      ) : null}
    </section>
  );
}
