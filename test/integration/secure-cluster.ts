// A cluster with authentication on (and, when asked, ACLs): a master and agents as real
// processes, every request of the test made with a chosen credential.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, startDaemon, waitFor } from './harness.js';

export interface TestCredential {
  readonly principal: string;
  readonly secret: string;
}

/** The operator: every ACL test lets it do everything. */
export const OPS: TestCredential = { principal: 'ops', secret: 'ops-secret' };
/** The agents' credential. */
export const AGENT: TestCredential = { principal: 'agent', secret: 'agent-secret' };
/** A principal that authenticates and that ACLs deny. */
export const GUEST: TestCredential = { principal: 'guest', secret: 'guest-secret' };

export const ALL_AUTH_FLAGS = [
  '--authenticate_http_readonly',
  '--authenticate_http_readwrite',
  '--authenticate_http_frameworks',
  '--authenticate_agents',
] as const;

export function authorization(credential: TestCredential): string {
  return `Basic ${Buffer.from(`${credential.principal}:${credential.secret}`).toString('base64')}`;
}

export interface SecureCluster {
  readonly master: Daemon;
  readonly agents: Daemon[];
  readonly workDir: string;
  readonly masterUrl: string;
  /** Files the daemons were given: credentials (JSON), the agent's credential. */
  readonly credentialsFile: string;
  readonly agentCredentialFile: string;
  addAgent(name: string, extraArgs?: readonly string[]): Promise<Daemon>;
  /** fetch() with `credential` (none when undefined). */
  get(url: string | URL, credential?: TestCredential): Promise<Response>;
  stop(): Promise<void>;
}

export interface SecureClusterOptions {
  readonly agents?: number;
  readonly masterArgs?: readonly string[];
  readonly agentArgs?: readonly string[];
  readonly agentResources?: string;
  /** The master's --acls, as JSON. */
  readonly acls?: unknown;
  readonly masterEnv?: NodeJS.ProcessEnv;
}

export async function startSecureCluster(
  options: SecureClusterOptions = {},
): Promise<SecureCluster> {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-sec-'));
  const credentialsFile = join(workDir, 'credentials.json');
  writeFileSync(credentialsFile, JSON.stringify({ credentials: [OPS, AGENT, GUEST] }), {
    mode: 0o600,
  });
  const agentCredentialFile = join(workDir, 'agent-credential');
  // The agent's file in Mesos' older text form: one `principal secret` line.
  writeFileSync(agentCredentialFile, `${AGENT.principal} ${AGENT.secret}\n`, { mode: 0o600 });
  const aclArgs: string[] = [];
  if (options.acls !== undefined) {
    const aclsFile = join(workDir, 'acls.json');
    writeFileSync(aclsFile, JSON.stringify(options.acls));
    aclArgs.push('--acls', aclsFile);
  }
  const started: Daemon[] = [];
  let isStopped = false;
  const stop = async () => {
    if (isStopped) return;
    isStopped = true;
    await Promise.all(started.filter((d) => d.name !== 'master').map((d) => d.stop()));
    await Promise.all(started.filter((d) => d.name === 'master').map((d) => d.stop()));
    rmSync(workDir, { recursive: true, force: true });
  };
  const get = (url: string | URL, credential?: TestCredential) =>
    fetch(url, {
      headers: credential === undefined ? {} : { authorization: authorization(credential) },
      signal: AbortSignal.timeout(30_000),
    });
  try {
    const master = await startDaemon(
      'master',
      [
        'master',
        '--port',
        '0',
        '--registry',
        'in_memory',
        '--credentials',
        credentialsFile,
        ...aclArgs,
        ...(options.masterArgs ?? ALL_AUTH_FLAGS),
      ],
      options.masterEnv,
    );
    started.push(master);
    const agents: Daemon[] = [];
    const addAgent = async (name: string, extraArgs: readonly string[] = []) => {
      const agent = await startDaemon(name, [
        'agent',
        '--master',
        master.url,
        '--port',
        '0',
        '--work_dir',
        join(workDir, name),
        ...(options.agentResources !== undefined ? ['--resources', options.agentResources] : []),
        ...(options.agentArgs ?? ['--credential', agentCredentialFile]),
        ...extraArgs,
      ]);
      started.push(agent);
      agents.push(agent);
      return agent;
    };
    for (let i = 1; i <= (options.agents ?? 1); i++) await addAgent(`agent-${i}`);
    await waitFor(`${agents.length} agents to register`, async () => {
      const response = await get(new URL('/master/slaves', master.url), OPS);
      if (!response.ok) return undefined;
      const { slaves } = (await response.json()) as { slaves: { active: boolean }[] };
      return slaves.filter((s) => s.active).length >= agents.length ? true : undefined;
    });
    return {
      master,
      agents,
      workDir,
      masterUrl: master.url,
      credentialsFile,
      agentCredentialFile,
      addAgent,
      get,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
