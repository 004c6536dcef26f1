/**
 * RPC tasks run in a client child: echo round trips with one call outstanding (latency
 * percentiles and calls/s) and pipelined echo with `depth` calls in flight (calls/s).
 */
import { performance } from 'node:perf_hooks';
import type { ClientAdapter, Json } from '../adapter.js';
import { serverCpuUs } from '../server-cpu.js';
import { latencySummary } from '../stats.js';

/** Server and client CPU time (µs), to charge a phase per call; server NaN without /ctl/cpu. */
interface CpuMark {
  server: number;
  client: number;
}

async function cpuMark(client: ClientAdapter): Promise<CpuMark> {
  const server = await serverCpuUs(client);
  const own = process.cpuUsage();
  return { server, client: own.user + own.system };
}

async function cpuPerCall(client: ClientAdapter, start: CpuMark, calls: number): Promise<Json> {
  const end = await cpuMark(client);
  return {
    serverCpuUs: (end.server - start.server) / calls,
    clientCpuUs: (end.client - start.client) / calls,
  };
}

function payloadOf(size: number): Buffer | undefined {
  return size > 0 ? Buffer.alloc(size, 0xa5) : undefined;
}

/** One call outstanding for `durationMs`; returns each round trip in µs. */
function serialEcho(client: ClientAdapter, data: Buffer | undefined, durationMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const samples: number[] = [];
    const end = performance.now() + durationMs;
    const next = (): void => {
      const t0 = performance.now();
      client.echo('/echo', data, (ok) => {
        const t1 = performance.now();
        if (!ok) return reject(new Error('echo failed'));
        samples.push((t1 - t0) * 1000);
        if (t1 < end) next();
        else resolve(samples);
      });
    };
    next();
  });
}

/** `depth` calls in flight until `durationMs` passed (or `count` calls completed, when > 0). */
function pipelinedEcho(
  client: ClientAdapter,
  data: Buffer | undefined,
  depth: number,
  durationMs: number,
  count: number,
): Promise<{ calls: number; elapsedMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const end = t0 + durationMs;
    let issued = 0;
    let completed = 0;
    let failed = false;
    const more = (): boolean => (count > 0 ? issued < count : performance.now() < end);
    const onReply = (ok: boolean): void => {
      if (failed) return;
      if (!ok) {
        failed = true;
        reject(new Error('echo failed'));
        return;
      }
      completed++;
      if (more()) {
        issued++;
        client.echo('/echo', data, onReply);
      } else if (completed === issued) {
        resolve({ calls: completed, elapsedMs: performance.now() - t0 });
      }
    };
    for (let i = 0; i < depth && more(); i++) {
      issued++;
      client.echo('/echo', data, onReply);
    }
  });
}

export async function echoTask(client: ClientAdapter, task: Json): Promise<Json> {
  const sizes = task.sizes as number[];
  if (task.framing === 'message') client.echoFraming?.('message');
  const warmupMs = task.warmupMs as number;
  const durationMs = task.durationMs as number;
  const cases: Json[] = [];
  for (const size of sizes) {
    const data = payloadOf(size);
    await serialEcho(client, data, warmupMs);
    const cpu = await cpuMark(client);
    const t0 = performance.now();
    const samples = await serialEcho(client, data, durationMs);
    const elapsedMs = performance.now() - t0;
    cases.push({
      size,
      calls: samples.length,
      callsPerSec: (samples.length * 1000) / elapsedMs,
      ...latencySummary(samples),
      ...(await cpuPerCall(client, cpu, samples.length)),
    });
  }
  return { cases };
}

export async function pipelineTask(client: ClientAdapter, task: Json): Promise<Json> {
  const sizes = task.sizes as number[];
  const depth = (task.depth as number | undefined) ?? 64;
  const count = (task.count as number | undefined) ?? 0;
  const cases: Json[] = [];
  for (const size of sizes) {
    const data = payloadOf(size);
    if (count === 0) await pipelinedEcho(client, data, depth, task.warmupMs as number, 0);
    const cpu = await cpuMark(client);
    const { calls, elapsedMs } = await pipelinedEcho(client, data, depth, task.durationMs as number, count);
    cases.push({
      size,
      calls,
      elapsedMs,
      callsPerSec: (calls * 1000) / elapsedMs,
      ...(await cpuPerCall(client, cpu, calls)),
    });
  }
  return { cases };
}
