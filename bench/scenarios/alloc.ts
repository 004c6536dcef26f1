/**
 * Server-side allocation: GC count and pause time, heap growth, for N RPCs of 1 KiB and for
 * N quick publishes of 1 KiB (each phase starts after a forced GC in the server).
 */
import type { Json, Side } from '../lib/adapter.js';
import type { Child } from '../lib/child.js';
import { clientResult, type Scenario, type Settings, sidesInRound, startServer } from './context.js';

const SIDES: readonly Side[] = ['ours', 'official'];

async function phase(
  server: Child,
  side: Side,
  port: number,
  task: Json,
  boundMs: number,
): Promise<[Json, Json]> {
  server.send({ cmd: 'mark' });
  await server.wait('marked', 10_000);
  const client = await clientResult(side, port, task, boundMs);
  server.send({ cmd: 'stats' });
  return [client, await server.wait('stats', 10_000)];
}

function labels(settings: Settings): [string, string] {
  const n = `${settings.allocCount / 1000}k`;
  return [`${n} RPCs of 1 KiB`, `${n} quick publishes of 1 KiB`];
}

export const allocation: Scenario = {
  id: 'allocation',
  title: 'Server allocation (GC and heap, server process only)',
  sides: SIDES,
  columns: [
    { key: 'gcCount', label: 'GCs' },
    { key: 'gcMs', label: 'GC ms', digits: 1 },
    { key: 'heapGrowth', label: 'heap growth KiB', scale: 1024 },
    { key: 'retainedGrowth', label: 'retained after GC KiB', scale: 1024 },
    { key: 'allocatedPerOp', label: 'heap B allocated/op' },
  ],
  note: 'RPCs pipelined 64 deep; quick publishes flat out. GCs from perf_hooks (forced ones excluded); allocated = V8 heap only (v8.GCProfiler), Buffer backing stores are outside it.',
  async run({ settings, results }) {
    const count = settings.allocCount;
    const [rpcLabel, quickLabel] = labels(settings);
    for (let round = 0; round < settings.slowRounds; round++) {
      for (const side of sidesInRound(SIDES, round)) {
        let server: Child | undefined;
        try {
          const [started, port] = await startServer(side, settings);
          server = started;
          const bound = 120_000;
          const [, rpc] = await phase(
            server,
            side,
            port,
            { task: 'pipeline', sizes: [1024], depth: 64, count, warmupMs: 0, durationMs: 0 },
            bound,
          );
          results.add(this.id, rpcLabel, side, pickGc(rpc, count));
          const [, quick] = await phase(
            server,
            side,
            port,
            { task: 'quick-count', size: 1024, count },
            bound,
          );
          results.add(this.id, quickLabel, side, pickGc(quick, count));
        } catch (error) {
          results.fail(this.id, [rpcLabel, quickLabel], side, error);
        } finally {
          await server?.stop();
        }
      }
    }
  },
};

function pickGc(stats: Json, ops: number): Record<string, number> {
  return {
    gcCount: stats.gcCount as number,
    gcMs: stats.gcMs as number,
    heapGrowth: stats.heapGrowth as number,
    retainedGrowth: stats.retainedGrowth as number,
    allocatedPerOp: (stats.allocated as number) / ops,
  };
}
