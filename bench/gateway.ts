/**
 * The browser gateway under load: a VSOA server (ours, in this process) publishes at a fixed
 * rate through `vsoa gateway` (a child process, measured) to 1 and 50 juggler WebSocket clients
 * (in this process, as the browsers). Per scenario: publishes/s offered and delivered, messages
 * per second the clients received, p50/p99 latency from VSOA publish to the client's state
 * change, and the gateway's CPU time per published message (from /proc, utime + stime).
 *
 *   node --import tsx bench/gateway.ts [--quick] [--json FILE]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastJsonPatch from 'fast-json-patch';
import { Server } from '../src/index.js';
import { connect, type JsonValue, type JugglerClient, JugglerState } from '../src/juggler/index.js';
import { describeMachine } from './lib/machine.js';

interface Scenario {
  clients: number;
  rate: number;
  autoflush: number;
  seconds: number;
}

interface Result extends Scenario {
  published: number;
  publishedPerS: number;
  receivedPerClientPerS: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerPublish: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const quick = process.argv.includes('--quick');
const jsonAt = process.argv.indexOf('--json');
const jsonFile = jsonAt > 0 ? process.argv[jsonAt + 1] : undefined;
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

function readFileSyncSafe(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSyncSafe(`/proc/${pid}/stat`);
  if (!stat) return Number.NaN;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICK;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
}

async function startGateway(
  vsoaUrl: string,
  autoflush: number,
): Promise<{ child: ChildProcess; ws: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'gateway',
      vsoaUrl,
      '--http',
      '127.0.0.1:0',
      '--autoflush',
      String(autoflush),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, VSOA_LOG_LEVEL: 'warn' } },
  );
  let text = '';
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    text += chunk.toString();
    if (text.includes('\n')) break;
  }
  const url = text.split('\n', 1)[0] ?? '';
  if (!url.startsWith('http')) throw new Error(`gateway did not start: ${text}`);
  return { child, ws: `${url.replace(/^http/, 'ws')}ws` };
}

async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function run(s: Scenario): Promise<Result> {
  const server = new Server({ info: 'bench' });
  await server.listen(0, '127.0.0.1');
  const { child, ws } = await startGateway(`vsoa://127.0.0.1:${server.address().port}`, s.autoflush);
  const clients: JugglerClient[] = [];
  const latencies: number[] = [];
  const received = new Array<number>(s.clients).fill(0);
  try {
    for (let i = 0; i < s.clients; i++) {
      const client = await connect(ws);
      let last = -1;
      client.on('change', (state: { topics?: Record<string, { seq: number; t: number }> }) => {
        const v = state.topics?.['/bench'];
        if (!v || v.seq === last) return;
        last = v.seq;
        received[i] = (received[i] as number) + 1;
        if (i % 5 === 0) latencies.push(performance.now() - v.t);
      });
      clients.push(client);
    }
    await until(() => server.count() === 1, 10_000, 'the gateway to connect to VSOA');
    // Warm-up: publish until every client saw one (the gateway subscribes right after connecting).
    const deadline = Date.now() + 10_000;
    for (let w = -100; !received.every((n) => n > 0); w++) {
      if (Date.now() > deadline) throw new Error('timed out waiting for warm-up');
      server.publish('/bench', { param: { seq: w, t: performance.now() } });
      await new Promise((r) => setTimeout(r, 20));
    }
    received.fill(0);
    latencies.length = 0;

    const cpuBefore = cpuMs(child.pid as number);
    const started = performance.now();
    let seq = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - started;
        const due = Math.min(Math.floor((elapsed * s.rate) / 1000), s.rate * s.seconds);
        while (seq < due) server.publish('/bench', { param: { seq: seq++, t: performance.now() } });
        if (seq >= s.rate * s.seconds) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    const wall = (performance.now() - started) / 1000;
    // Let the last diffs arrive (bounded), then read the gateway's CPU.
    await new Promise((r) => setTimeout(r, s.autoflush + 300));
    const cpu = cpuMs(child.pid as number) - cpuBefore;
    latencies.sort((a, b) => a - b);
    const total = received.reduce((a, b) => a + b, 0);
    return {
      ...s,
      published: seq,
      publishedPerS: Math.round(seq / wall),
      receivedPerClientPerS: Math.round(total / s.clients / wall),
      p50Ms: Number(percentile(latencies, 50).toFixed(2)),
      p99Ms: Number(percentile(latencies, 99).toFixed(2)),
      cpuUsPerPublish: Number(((cpu * 1000) / seq).toFixed(1)),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
    await server.close();
  }
}

const seconds = quick ? 1 : 5;
const scenarios: Scenario[] = [
  { clients: 1, rate: quick ? 500 : 2000, autoflush: 0, seconds },
  // 50 clients at 1 kHz each would be 50k messages/s into this one client process: the bound would be
  // the measuring side (2 cores), not the gateway.
  { clients: 50, rate: quick ? 100 : 200, autoflush: 0, seconds },
  { clients: 1, rate: quick ? 1000 : 5000, autoflush: 200, seconds },
  { clients: 50, rate: quick ? 1000 : 5000, autoflush: 200, seconds },
];
/**
 * What one state change costs at 1 kHz on a large state (10,000 topics): our set() plus the
 * patch a connection gets, against the deep compare of a plain JSON-Patch diff (fast-json-patch
 * compare() of the previous and the new state, what a server without change tracking does).
 */
function diffCost(topics: number, changes: number): { oursUs: number; deepCompareUs: number } {
  const initial: Record<string, JsonValue> = {};
  for (let i = 0; i < topics; i++) initial[`/t/${i}`] = { v: i, unit: 'm/s' };
  const state = new JugglerState({ topics: initial });
  let t0 = performance.now();
  for (let i = 0; i < changes; i++) {
    const version = state.version;
    state.set(['topics', `/t/${i % topics}`], { v: -i, unit: 'm/s' });
    state.patchTextSince(version);
  }
  const oursUs = ((performance.now() - t0) * 1000) / changes;
  let plain = structuredClone(state.data) as { topics: Record<string, JsonValue> };
  t0 = performance.now();
  for (let i = 0; i < changes; i++) {
    const next = { topics: { ...plain.topics, [`/t/${i % topics}`]: { v: i, unit: 'm/s' } } };
    JSON.stringify(fastJsonPatch.compare(plain, next));
    plain = next;
  }
  const deepCompareUs = ((performance.now() - t0) * 1000) / changes;
  return { oursUs: Number(oursUs.toFixed(1)), deepCompareUs: Number(deepCompareUs.toFixed(1)) };
}

const machine = describeMachine(root, false);
const diff = diffCost(10_000, quick ? 200 : 2000);
const results: Result[] = [];
for (const s of scenarios) results.push(await run(s));

console.log(
  `\nvsoa gateway: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}${quick ? ' (quick)' : ''}\n`,
);
console.log(
  '| clients | autoflush ms | offered/s | published/s | received/s per client | p50 ms | p99 ms | gateway CPU µs/publish |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.clients} | ${r.autoflush} | ${r.rate} | ${r.publishedPerS} | ${r.receivedPerClientPerS} | ${r.p50Ms} | ${r.p99Ms} | ${r.cpuUsPerPublish} |`,
  );
}
console.log(
  `\nOne change of a 10,000-topic state: ${diff.oursUs} µs (set + patch) vs ${diff.deepCompareUs} µs (fast-json-patch compare of the whole state)`,
);
if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify({ machine, quick, diff, results }, null, 2)}\n`);
