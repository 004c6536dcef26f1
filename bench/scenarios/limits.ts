/**
 * The limits rows (`npm run bench -- --limits [--contend N]`): the protocol's largest packets,
 * each side beside the raw Node.js floor of the same bytes, every figure also as a ratio to
 * that floor from the same repetition. With `--contend N`, every repetition runs a quiet phase
 * and a phase with N busy loops on the benchmark's CPUs, alternating which goes first.
 */
import { readFileSync } from 'node:fs';
import type { Json, Side } from '../lib/adapter.js';
import { Contention, contentions } from '../lib/contend.js';
import { QUICK_RCVBUF_BYTES, QUICK_RCVBUF_CHOSEN } from '../lib/quick-rcvbuf.js';
import {
  CLIENT_CPU,
  type Column,
  type Row,
  type Scenario,
  type ScenarioContext,
  SERVER_CPU,
  type Settings,
  session,
} from './context.js';

const SIDES: readonly Side[] = ['raw', 'ours', 'official'];
/** 262,144 - 20 (header) - 5 ('/feed', '/echo'): the largest normal-channel payload. */
const MAX_DATA = 262_119;
/** 65,504 (largest 4-aligned quick packet) - 20 (header) - 5 ('/q-in'): the largest quick payload. */
const MAX_QUICK = 65_479;
/** Send rates of the quick-in probe, msgs/s; 0 = flat out. */
const QUICK_RATES = [5_000, 10_000, 20_000, 40_000, 0];
const QUICK_SMOKE_RATES = [10_000, 0];

const MESSAGE_FLOOR =
  'raw floor: a message echo over plain `net` with the same frame sizes (a 25-byte head + the data): the server reads each request whole, then writes the head and the same bytes back; the client gets each reply as one Buffer, as an RPC does. The `rpc-echo` scenario keeps the identity echo (chunks written straight back, nothing waits for a whole message), which no RPC can match at 256 KiB: that floor overlaps both directions.';

interface Case {
  label: string;
  values: Record<string, number>;
}

interface LimitRow {
  id: string;
  title: string;
  columns: readonly Column[];
  /** The metric compared with the floor, and whether lower is better (latency). */
  main: string;
  lower?: boolean;
  note?: string;
  task(ctx: ScenarioContext): Json;
  cases(result: Json): Case[];
}

function publishRow(subscribers: number): LimitRow {
  return {
    id: `limits-publish-${subscribers}`,
    title: `Limits: publish TCP ${MAX_DATA.toLocaleString('en-US')} B to ${subscribers} subscriber${subscribers > 1 ? 's' : ''}`,
    columns: [
      { key: 'publishesPerSec', label: 'publishes/s' },
      { key: 'ofFloor', label: '× floor', digits: 2 },
      { key: 'mbPerSec', label: 'MB/s received', digits: 1 },
      { key: 'serverCpuUs', label: 'server CPU µs/publish', digits: 1 },
      { key: 'clientCpuUs', label: 'subscriber CPU µs/msg', digits: 1 },
      { key: 'faultsPerMsg', label: 'subscriber page faults/msg', digits: 1 },
    ],
    main: 'publishesPerSec',
    note: 'Window-paced by subscriber acks (2 MiB in flight per subscriber). raw floor: plain `net` writer, a 25-byte head + the data per message (262,144 B like VSOA), one head shared by all subscribers, no copy; its reader delivers each message as one Buffer (joined with one copy when it spans chunks, as a VSOA client does).',
    task: ({ settings }) => ({
      task: 'publish',
      subscribers,
      sizes: [MAX_DATA],
      windowBytes: Number(process.env.BENCH_WINDOW ?? 2 * 1024 * 1024),
      ...phaseMs(settings),
    }),
    cases: (result) =>
      (result.cases as Json[]).map((c) => ({
        label: `${subscribers} sub`,
        values: {
          publishesPerSec: c.publishesPerSec as number,
          mbPerSec: c.mbPerSec as number,
          serverCpuUs: c.serverCpuUsPerPublish as number,
          clientCpuUs: c.clientCpuUsPerMsg as number,
          faultsPerMsg: c.faultsPerMsg as number,
          ...(c.drained === true ? {} : { notDrained: 1 }),
        },
      })),
  };
}

const rpcBig: LimitRow = {
  id: 'limits-rpc-big',
  title: `Limits: RPC echo ${MAX_DATA.toLocaleString('en-US')} B, one call outstanding`,
  columns: [
    { key: 'callsPerSec', label: 'calls/s' },
    { key: 'ofFloor', label: '× floor', digits: 2 },
    { key: 'p50', label: 'p50 µs', digits: 1 },
  ],
  main: 'callsPerSec',
  note: MESSAGE_FLOOR,
  task: ({ settings }) => ({
    task: 'echo',
    framing: 'message',
    sizes: [MAX_DATA],
    ...phaseMs(settings),
  }),
  cases: (result) =>
    (result.cases as Json[]).map((c) => ({
      label: `${MAX_DATA} B`,
      values: { callsPerSec: c.callsPerSec as number, p50: c.p50 as number },
    })),
};

const rpcZero: LimitRow = {
  id: 'limits-rpc-0',
  title: 'Limits: RPC echo 0 B latency, one call outstanding',
  columns: [
    { key: 'p50', label: 'p50 µs', digits: 1 },
    { key: 'ofFloor', label: '× floor', digits: 2 },
    { key: 'p99', label: 'p99 µs', digits: 1 },
    { key: 'callsPerSec', label: 'calls/s' },
  ],
  main: 'p50',
  lower: true,
  note: MESSAGE_FLOOR,
  task: ({ settings }) => ({
    task: 'echo',
    framing: 'message',
    sizes: [0],
    ...phaseMs(settings),
  }),
  cases: (result) =>
    (result.cases as Json[]).map((c) => ({
      label: '0 B',
      values: { p50: c.p50 as number, p99: c.p99 as number, callsPerSec: c.callsPerSec as number },
    })),
};

// What the quick receivers ask for, and the cap.
const QUICK_RCVBUF_ASKED = QUICK_RCVBUF_CHOSEN
  ? `${QUICK_RCVBUF_BYTES.toLocaleString('en-US')} B (BENCH_QUICK_RCVBUF)`
  : '32 MiB (the default quickRecvBufferSize)';
const RMEM_MAX = readRmemMax();

function readRmemMax(): string {
  try {
    const bytes = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    return `${bytes.toLocaleString('en-US')} B on this machine`;
  } catch {
    return 'unknown here';
  }
}

const quickIn: LimitRow = {
  id: 'limits-quick',
  title: `Limits: quick datagrams of ${MAX_QUICK.toLocaleString('en-US')} B, client to server, by send rate`,
  columns: [
    { key: 'receivedPerSec', label: 'received/s' },
    { key: 'ofFloor', label: '× floor', digits: 2 },
    { key: 'lossPct', label: 'loss %', digits: 1 },
    { key: 'sendRate', label: 'sent/s' },
    { key: 'serverCpuUs', label: 'server CPU µs/datagram', digits: 1 },
  ],
  main: 'receivedPerSec',
  note: `Receive buffers: ours and the raw floor ask for ${QUICK_RCVBUF_ASKED} (the kernel caps it at net.core.rmem_max, ${RMEM_MAX}); the official server keeps the kernel default. "flat out" = as fast as each client sends; "flat out, one sender" = each side's own datagram captured once and resent by the raw floor's loop from the same socket, so every server gets the same load and received/s compares the receivers (the official client's socket is connected).`,
  task: ({ settings }) => ({
    task: 'quick-in',
    size: MAX_QUICK,
    rates: settings.quick ? QUICK_SMOKE_RATES : QUICK_RATES,
    replay: true,
    ...phaseMs(settings),
  }),
  cases: (result) =>
    (result.cases as Json[]).map((c) => ({
      label: c.replay
        ? 'flat out, one sender'
        : (c.rate as number) > 0
          ? `${(c.rate as number).toLocaleString('en-US')}/s`
          : 'flat out',
      values: {
        receivedPerSec: c.receivedPerSec as number,
        lossPct: (c.loss as number) * 100,
        sendRate: c.sendRate as number,
        serverCpuUs: c.serverCpuUs as number,
      },
    })),
};

export const LIMIT_ROWS: readonly LimitRow[] = [publishRow(1), publishRow(8), rpcBig, rpcZero, quickIn];

/** The limits rows run many sessions: shorter phases than the other scenarios (quick: theirs). */
function phaseMs(settings: Settings): { warmupMs: number; durationMs: number } {
  const { warmupMs, durationMs, quick } = settings;
  return quick
    ? { warmupMs, durationMs }
    : { warmupMs: Math.min(warmupMs, 300), durationMs: Math.min(durationMs, 1500) };
}

function boundOf(ctx: ScenarioContext): number {
  const { warmupMs, durationMs } = ctx.settings;
  return (warmupMs + durationMs) * 3 * QUICK_RATES.length + 60_000;
}

/** One side on one row: its cases, or undefined after recording the failure. */
async function measure(
  ctx: ScenarioContext,
  row: LimitRow,
  side: Side,
  condition: string,
): Promise<Case[] | undefined> {
  try {
    const result = await session(side, ctx.settings, row.task(ctx), boundOf(ctx));
    return row.cases(result);
  } catch (error) {
    ctx.results.fail(row.id, [`? · ${condition}`], side, error);
    return undefined;
  }
}

/** The CI smoke test (--quick): three rows, ours and the floor only. */
const SMOKE_ROWS = ['limits-publish-1', 'limits-rpc-0', 'limits-quick'];

/** BENCH_LIMITS_ROWS=limits-publish-1,... runs only those rows (profiling one row). */
function chosenRows(settings: Settings): readonly LimitRow[] {
  const wanted = process.env.BENCH_LIMITS_ROWS?.split(',') ?? (settings.quick ? SMOKE_ROWS : undefined);
  return wanted ? LIMIT_ROWS.filter((r) => wanted.includes(r.id)) : LIMIT_ROWS;
}

async function phase(ctx: ScenarioContext, condition: string, rep: number): Promise<void> {
  const sides = process.env.BENCH_SIDES?.split(',') ?? (ctx.settings.quick ? ['raw', 'ours'] : SIDES);
  for (const row of chosenRows(ctx.settings)) {
    const inRun = SIDES.filter((side) => sides.includes(side));
    const order = rep % 2 === 0 ? inRun : [...inRun].reverse();
    const bySide = new Map<Side, Case[]>();
    for (const side of order) {
      const cases = await measure(ctx, row, side, condition);
      if (cases) bySide.set(side, cases);
    }
    const floor = new Map((bySide.get('raw') ?? []).map((c) => [c.label, c.values[row.main]]));
    for (const [side, cases] of bySide) {
      for (const c of cases) {
        const base = floor.get(c.label);
        const value = c.values[row.main];
        const ofFloor = base && value !== undefined ? value / base : Number.NaN; // latency: > 1 is slower
        ctx.results.add(row.id, `${c.label} · ${condition}`, side, { ...c.values, ofFloor });
      }
    }
  }
}

export const limits: Scenario = {
  id: 'limits',
  title: 'Limits: the largest packets, ratios to the raw Node.js floor of the same run',
  sides: SIDES,
  columns: [],
  tables: LIMIT_ROWS.map((r) => ({ id: r.id, title: r.title, columns: r.columns, note: r.note })),
  async run(ctx) {
    const n = ctx.settings.contend;
    if (ctx.settings.quick)
      console.error('  quick: one repetition, short phases (a smoke test, not figures)');
    const contention = new Contention(n, [SERVER_CPU, CLIENT_CPU]);
    contentions.add(contention);
    const conditions = n > 0 ? ['quiet', `contend ${n}`] : ['quiet'];
    try {
      for (let rep = 0; rep < ctx.settings.rounds; rep++) {
        const ordered = rep % 2 === 0 ? conditions : [...conditions].reverse();
        for (const condition of ordered) {
          console.error(`  rep ${rep + 1}/${ctx.settings.rounds}: ${condition}`);
          if (condition === 'quiet') contention.stop();
          else contention.start();
          await phase(ctx, condition, rep);
        }
        contention.stop();
      }
    } finally {
      contention.stop();
      contentions.delete(contention);
    }
  },
};

/** Summary for the JSON report: each row's median × floor per side and condition. */
export function limitsSummary(rows: readonly Row[]): Json {
  const out: Json = {};
  for (const r of rows) {
    if (!r.scenario.startsWith('limits-')) continue;
    const key = `${r.scenario} ${r.case}`;
    const entry = (out[key] as Json | undefined) ?? {};
    entry[r.side] = { ofFloor: r.metrics.ofFloor, ...r.metrics };
    out[key] = entry;
  }
  return out;
}
