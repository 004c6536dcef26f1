import type { Client } from '../../client/client.js';
import type { Progress } from './progress.js';
import { QuickProbe, searchRate } from './quick.js';
import type { BenchReport, QuickResult, RpcResult } from './report.js';
import { machineInfo, sizeText, toolVersion } from './report.js';
import { type Limit, round, runRpcPass } from './rpc.js';
import type { BenchSettings } from './settings.js';
import { type BenchStats, ECHO_URL, STATS_URL } from './wire.js';

export type { BenchSettings, Scenario } from './settings.js';

export interface BenchTarget {
  url: string;
  selfHosted: boolean;
}

/** Calls not measured before each size's passes: connection buffers and the JIT settle. */
const WARMUP_CALLS = 200;
const SEARCH_BUDGET_MS = 3000;
/**
 * Request bytes the pipelined pass keeps outstanding at most: the client cuts its own
 * connection once 8 MiB wait to be sent (and the server likewise for replies), so large
 * payloads run with fewer calls in flight.
 */
const MAX_INFLIGHT_BYTES = 4 * 1024 * 1024;

/** The server's /bench/stats, or null when it has none (any server but `vsoa bench serve`). */
export async function fetchStats(client: Client): Promise<BenchStats | null> {
  try {
    const { header, payload } = await client.fetch(STATS_URL, { timeout: 5000 });
    if (header.status !== 0) return null;
    const param = Buffer.isBuffer(payload.param) ? JSON.parse(payload.param.toString('utf8')) : payload.param;
    const stats = param as BenchStats | undefined;
    return typeof stats?.quick?.received === 'number' ? stats : null;
  } catch {
    return null;
  }
}

/** Fails with what to do when the server has no working `/echo`. */
async function checkEcho(client: Client): Promise<void> {
  const probe = Buffer.from('vsoa bench');
  const { header, payload } = await client.fetch(ECHO_URL, { payload: { data: probe }, timeout: 10_000 });
  if (header.status !== 0 || !payload.data?.equals(probe)) {
    throw new Error(
      `the server's /echo did not echo (status ${header.status}): run 'vsoa bench serve' there, ` +
        'or give it an /echo command that replies with the request payload',
    );
  }
}

function limitOf(settings: BenchSettings): Limit {
  return settings.count !== null
    ? { count: settings.count }
    : { durationMs: (settings.durationS ?? 1) * 1000 };
}

async function runRpc(client: Client, settings: BenchSettings, progress: Progress): Promise<RpcResult[]> {
  await checkEcho(client);
  const limit = limitOf(settings);
  const results: RpcResult[] = [];
  for (const size of settings.sizes) {
    const label = `rpc ${sizeText(size)}`;
    progress.begin(`${label} warm-up`, () => 0, false);
    await runRpcPass(client, { size, inflight: 1, limit: { count: WARMUP_CALLS } });
    let fraction = 0;
    const onProgress = (f: number): void => {
      fraction = f;
    };
    progress.begin(`${label} one at a time`, () => fraction);
    const sequential = await runRpcPass(client, { size, inflight: 1, limit, onProgress });
    fraction = 0;
    const inflight = Math.max(
      1,
      Math.min(settings.inflight, Math.floor(MAX_INFLIGHT_BYTES / Math.max(size, 1))),
    );
    progress.begin(`${label} ${inflight} in flight`, () => fraction);
    const pipelined = await runRpcPass(client, { size, inflight, limit, onProgress });
    results.push({ size, sequential, pipelined: { ...pipelined, inflight } });
  }
  return results;
}

async function runQuick(
  client: Client,
  settings: BenchSettings,
  withStats: boolean,
  progress: Progress,
  notes: string[],
): Promise<QuickResult[]> {
  const probe = new QuickProbe(client);
  progress.begin('quick: is the server echoing?', () => 0, false);
  if (!(await probe.echoes())) {
    notes.push(
      'quick: no datagram sent to /bench/quick came back, so nothing could be measured: ' +
        "the server must echo quick datagrams (as 'vsoa bench serve' does)",
    );
    return [];
  }
  const limit = limitOf(settings);
  const results: QuickResult[] = [];
  for (const size of settings.quickSizes) {
    const label = `quick ${sizeText(size)}`;
    let fraction = 0;
    const onProgress = (f: number): void => {
      fraction = f;
    };
    let rate = settings.rate;
    let search: QuickResult['search'] = [];
    if (rate === null) {
      progress.begin(`${label} rate search`, () => fraction);
      ({ rate, steps: search } = await searchRate(probe, size, SEARCH_BUDGET_MS, 250, onProgress));
    }
    fraction = 0;
    progress.begin(`${label} at ${rate}/s`, () => fraction);
    const before = withStats ? await fetchStats(client) : null;
    const pass = await probe.pass({ size, rate, limit, onProgress });
    const after = before ? await fetchStats(client) : null;
    const serverReceived = before && after ? after.quick.received - before.quick.received : null;
    results.push({
      size,
      rate,
      rateSearched: settings.rate === null,
      search,
      sent: pass.sent,
      echoed: pass.echoed,
      serverReceived,
      lossPct: pass.lossPct,
      lossToServerPct:
        serverReceived === null || pass.sent === 0
          ? null
          : round((Math.max(0, pass.sent - serverReceived) / pass.sent) * 100, 3),
      seconds: pass.seconds,
      sendRate: pass.sendRate,
      rtt: pass.rtt,
    });
  }
  return results;
}

/** Runs the chosen scenarios against a connected client and assembles the report. */
export async function runBench(
  client: Client,
  target: BenchTarget,
  settings: BenchSettings,
  progress: Progress,
  notes: string[] = [],
): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const withStats = (await fetchStats(client)) !== null;
  const rpcPasses = settings.scenario === 'quick' ? 0 : settings.sizes.length * 2;
  const quickPasses =
    settings.scenario === 'rpc' ? 0 : settings.quickSizes.length * (settings.rate === null ? 2 : 1);
  progress.steps(rpcPasses + quickPasses);
  if (!withStats && settings.scenario !== 'rpc') {
    notes.push(
      'the server has no /bench/stats: quick loss is measured from echoes only (round trip), ' +
        'not split into the two directions',
    );
  }
  const rpc = settings.scenario === 'quick' ? [] : await runRpc(client, settings, progress);
  const quick =
    settings.scenario === 'rpc' ? [] : await runQuick(client, settings, withStats, progress, notes);
  progress.end();
  if (quick.length > 0) notes.push('quick latency is the round trip: one-way needs synchronised clocks');
  return {
    ...toolVersion(),
    startedAt,
    machine: machineInfo(),
    target: { url: target.url, selfHosted: target.selfHosted, benchStats: withStats },
    settings: {
      scenario: settings.scenario,
      sizes: settings.sizes,
      quickSizes: settings.quickSizes,
      durationS: settings.durationS,
      count: settings.count,
      inflight: settings.inflight,
      rate: settings.rate,
    },
    rpc,
    quick,
    notes,
  };
}
