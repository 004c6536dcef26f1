/**
 * What every scenario shares: the run's settings, result collection (per-round values,
 * medians across rounds, errors), and the server/client child pair helpers.
 */
import type { Json, Side } from '../lib/adapter.js';
import { Child } from '../lib/child.js';
import { median } from '../lib/stats.js';

export const SERVER_CPU = 0;
export const CLIENT_CPU = 1;

export interface Settings {
  quick: boolean;
  /** Interleaved repetitions (A B A B …) for the throughput/latency scenarios. */
  rounds: number;
  /** Repetitions for the slow scenarios (allocation, memory). */
  slowRounds: number;
  warmupMs: number;
  durationMs: number;
  quickProbeMs: number;
  quickProbes: number;
  allocCount: number;
  idleClients: number;
  idleProcesses: number;
  fanoutSubscribers: number;
  /** Extra node flags for our server child (e.g. --cpu-prof). */
  oursServerFlags: string[];
  /** `--contend N`: busy loops on the benchmark's CPUs during the contended phases (limits rows). */
  contend: number;
}

export function settingsFor(quick: boolean): Settings {
  return quick
    ? {
        quick,
        rounds: 2,
        slowRounds: 1,
        warmupMs: 200,
        durationMs: 300,
        quickProbeMs: 150,
        quickProbes: 4,
        allocCount: 20_000,
        idleClients: 1000,
        idleProcesses: 4,
        fanoutSubscribers: 100,
        oursServerFlags: [],
        contend: 0,
      }
    : {
        quick,
        rounds: 5,
        slowRounds: 2,
        warmupMs: 500,
        durationMs: 2000,
        quickProbeMs: 400,
        quickProbes: 6,
        allocCount: 100_000,
        idleClients: 1000,
        idleProcesses: 4,
        fanoutSubscribers: 100,
        oursServerFlags: [],
        contend: 0,
      };
}

export interface Row {
  scenario: string;
  case: string;
  side: Side;
  /** Median across rounds. */
  metrics: Record<string, number>;
  /** Every round's value. */
  rounds: Record<string, number[]>;
  errors: string[];
}

export class Collector {
  private readonly rows = new Map<string, Row>();

  private row(scenario: string, label: string, side: Side): Row {
    const key = `${scenario}\0${label}\0${side}`;
    let row = this.rows.get(key);
    if (!row) {
      row = { scenario, case: label, side, metrics: {}, rounds: {}, errors: [] };
      this.rows.set(key, row);
    }
    return row;
  }

  add(scenario: string, label: string, side: Side, values: Record<string, number>): void {
    const row = this.row(scenario, label, side);
    for (const [key, value] of Object.entries(values)) {
      const list = row.rounds[key] ?? [];
      list.push(value);
      row.rounds[key] = list;
      row.metrics[key] = median(list);
    }
  }

  fail(scenario: string, labels: readonly string[], side: Side, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`  ! ${scenario} ${side}: ${message}`);
    for (const label of labels) this.row(scenario, label, side).errors.push(message);
  }

  all(): Row[] {
    return [...this.rows.values()];
  }
}

/** Order of the sides in round `r`: alternated so neither always goes first. */
export function sidesInRound(sides: readonly Side[], round: number): Side[] {
  const [a, b, ...rest] = sides;
  if (a === undefined || b === undefined) return [...sides];
  return round % 2 === 0 ? [a, b, ...rest] : [b, a, ...rest];
}

export function sizeLabel(size: number): string {
  if (size === 0) return '0 B';
  if (size % 1024 === 0) return `${size / 1024} KiB`;
  return `${size} B`;
}

export async function startServer(side: Side, settings: Settings): Promise<[Child, number]> {
  const flags = ['--expose-gc', ...(side === 'ours' ? settings.oursServerFlags : [])];
  const server = new Child({
    label: `${side} server`,
    script: `sides/${side}-server.ts`,
    cpu: SERVER_CPU,
    nodeFlags: flags,
  });
  try {
    const ready = await server.wait('ready', 30_000);
    return [server, ready.port as number];
  } catch (error) {
    server.kill();
    throw error;
  }
}

/** Set by `--profile`: our client processes write CPU profiles here too. */
export const clientProfile: { dir: string | undefined } = { dir: undefined };

export function startClient(side: Side, task: Json): Child {
  const profile =
    (side === 'ours' || process.env.BENCH_PROFILE_ALL === '1') && clientProfile.dir
      ? ['--cpu-prof', `--cpu-prof-dir=${clientProfile.dir}`]
      : [];
  return new Child({
    label: `${side} client`,
    script: `sides/${side}-client.ts`,
    args: [JSON.stringify(task)],
    cpu: CLIENT_CPU,
    nodeFlags: profile,
  });
}

/** Runs one client task against a running server; the client is killed past `boundMs`. */
export async function clientResult(side: Side, port: number, task: Json, boundMs: number): Promise<Json> {
  const client = startClient(side, { ...task, port });
  try {
    return await client.wait('result', boundMs);
  } finally {
    await client.stop();
  }
}

/** A fresh server, one client task, then both stopped. */
export async function session(side: Side, settings: Settings, task: Json, boundMs: number): Promise<Json> {
  const [server, port] = await startServer(side, settings);
  try {
    return await clientResult(side, port, task, boundMs);
  } finally {
    await server.stop();
  }
}

export interface ScenarioContext {
  settings: Settings;
  results: Collector;
}

export interface Column {
  key: string;
  label: string;
  /** Decimal places (default 0). */
  digits?: number;
  /** Divide the value by this before printing (e.g. 1024 for KiB). */
  scale?: number;
}

export interface Scenario {
  id: string;
  title: string;
  sides: readonly Side[];
  columns: readonly Column[];
  /** A line printed under the table. */
  note?: string;
  /** Several tables instead of one: rows whose `scenario` is the table's id. */
  tables?: ReadonlyArray<{ id: string; title: string; columns: readonly Column[]; note?: string }>;
  run(ctx: ScenarioContext): Promise<void>;
}
