// `agora tasks | agents | frameworks`: the master's state as tables, or JSON.
import { baseUrl, getJson } from '../sdk/index.js';
import type { ParsedValues } from './command.js';
import { defaultMaster } from './run.js';

type Summary = Record<string, number | string>;
interface StateTask {
  id: string;
  name: string;
  state: string;
  framework_id: string;
  slave_id: string;
  resources: Summary;
}
interface StateFramework {
  id: string;
  name: string;
  active: boolean;
  role?: string;
  roles?: string[];
  used_resources: Summary;
  tasks: StateTask[];
  completed_tasks: StateTask[];
}
interface StateAgent {
  id: string;
  hostname: string;
  pid: string;
  active: boolean;
  resources: Summary;
  used_resources: Summary;
}
interface State {
  frameworks: StateFramework[];
  completed_frameworks: StateFramework[];
  slaves: StateAgent[];
}

async function fetchState(values: ParsedValues): Promise<State> {
  return getJson<State>(new URL('/master/state', baseUrl(defaultMaster(values))));
}

async function print(
  values: ParsedValues,
  head: string[],
  rows: (string | number)[][],
  json: unknown,
): Promise<number> {
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return 0;
  }
  const { default: Table } = await import('cli-table3');
  const plain = !process.stdout.isTTY;
  const table = new Table({
    head,
    style: plain ? { head: [], border: [] } : {},
    ...(plain
      ? {
          chars: {
            top: '',
            'top-mid': '',
            'top-left': '',
            'top-right': '',
            bottom: '',
            'bottom-mid': '',
            'bottom-left': '',
            'bottom-right': '',
            left: '',
            'left-mid': '',
            mid: '',
            'mid-mid': '',
            right: '',
            'right-mid': '',
            middle: '  ',
          },
        }
      : {}),
  });
  for (const row of rows) table.push(row.map(String));
  process.stdout.write(`${table.toString()}\n`);
  return 0;
}

const scalar = (summary: Summary, name: string) => Number(summary[name] ?? 0);

export async function tasks(values: ParsedValues): Promise<number> {
  const state = await fetchState(values);
  const frameworks = [
    ...state.frameworks,
    ...(values.all === true ? state.completed_frameworks : []),
  ];
  const names = new Map(frameworks.map((f) => [f.id, f.name]));
  const hosts = new Map(state.slaves.map((a) => [a.id, a.hostname]));
  const list = frameworks.flatMap((f) => [
    ...f.tasks,
    ...(values.all === true ? f.completed_tasks : []),
  ]);
  return print(
    values,
    ['ID', 'NAME', 'STATE', 'FRAMEWORK', 'AGENT', 'CPUS', 'MEM'],
    list.map((t) => [
      t.id,
      t.name,
      t.state,
      names.get(t.framework_id) ?? t.framework_id,
      hosts.get(t.slave_id) ?? t.slave_id,
      scalar(t.resources, 'cpus'),
      scalar(t.resources, 'mem'),
    ]),
    list,
  );
}

export async function agents(values: ParsedValues): Promise<number> {
  const state = await fetchState(values);
  return print(
    values,
    ['ID', 'HOSTNAME', 'ADDRESS', 'ACTIVE', 'CPUS (USED/TOTAL)', 'MEM (USED/TOTAL)'],
    state.slaves.map((a) => [
      a.id,
      a.hostname,
      a.pid.replace(/^slave\(1\)@/, ''),
      a.active ? 'yes' : 'no',
      `${scalar(a.used_resources, 'cpus')}/${scalar(a.resources, 'cpus')}`,
      `${scalar(a.used_resources, 'mem')}/${scalar(a.resources, 'mem')}`,
    ]),
    state.slaves,
  );
}

export async function frameworks(values: ParsedValues): Promise<number> {
  const state = await fetchState(values);
  const list = [...state.frameworks, ...(values.all === true ? state.completed_frameworks : [])];
  return print(
    values,
    ['ID', 'NAME', 'ROLES', 'ACTIVE', 'TASKS', 'CPUS', 'MEM'],
    list.map((f) => [
      f.id,
      f.name,
      (f.roles ?? [f.role ?? '*']).join(','),
      f.active ? 'yes' : 'no',
      f.tasks.length,
      scalar(f.used_resources, 'cpus'),
      scalar(f.used_resources, 'mem'),
    ]),
    list,
  );
}
