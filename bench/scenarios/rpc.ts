/** RPC echo with one call outstanding, and pipelined with 64 in flight; raw TCP as the floor. */
import type { Json, Side } from '../lib/adapter.js';
import { type Scenario, type ScenarioContext, session, sidesInRound, sizeLabel } from './context.js';

const SIDES: readonly Side[] = ['ours', 'official', 'raw'];
/** 262144 - 20 (header) - 5 ('/echo'): the normal-channel maximum next to /echo. */
export const MAX_ECHO_DATA = 262_119;
const ECHO_SIZES = [0, 1024, 65_536, MAX_ECHO_DATA];
const PIPELINE_SIZES = [0, 1024];
const DEPTH = 64;

async function roundsOf(
  ctx: ScenarioContext,
  id: string,
  sizes: readonly number[],
  task: Json,
  pick: (c: Json) => Record<string, number>,
): Promise<void> {
  const { settings, results } = ctx;
  const labels = sizes.map(sizeLabel);
  const perCaseMs = settings.warmupMs + settings.durationMs;
  for (let round = 0; round < settings.rounds; round++) {
    for (const side of sidesInRound(SIDES, round)) {
      try {
        const result = await session(
          side,
          settings,
          { ...task, sizes },
          sizes.length * perCaseMs * 3 + 30_000,
        );
        for (const c of result.cases as Json[]) results.add(id, sizeLabel(c.size as number), side, pick(c));
      } catch (error) {
        results.fail(id, labels, side, error);
      }
    }
  }
}

export const rpcEcho: Scenario = {
  id: 'rpc-echo',
  title: 'RPC echo round trip, one call outstanding',
  sides: SIDES,
  columns: [
    { key: 'callsPerSec', label: 'calls/s' },
    { key: 'p50', label: 'p50 µs', digits: 1 },
    { key: 'p99', label: 'p99 µs', digits: 1 },
    { key: 'p999', label: 'p99.9 µs', digits: 1 },
    { key: 'serverCpuUs', label: 'server CPU µs/call', digits: 1 },
    { key: 'clientCpuUs', label: 'client CPU µs/call', digits: 1 },
  ],
  note: 'raw = length-prefixed echo over plain `net`, no VSOA (the floor; its server CPU is not measured). CPU µs/call is process CPU time (user + system) over the measured phase: less sensitive to other load than calls/s.',
  run(ctx) {
    const { warmupMs, durationMs } = ctx.settings;
    return roundsOf(ctx, this.id, ECHO_SIZES, { task: 'echo', warmupMs, durationMs }, (c) => ({
      callsPerSec: c.callsPerSec as number,
      p50: c.p50 as number,
      p99: c.p99 as number,
      p999: c.p999 as number,
      serverCpuUs: c.serverCpuUs as number,
      clientCpuUs: c.clientCpuUs as number,
    }));
  },
};

export const rpcPipelined: Scenario = {
  id: 'rpc-pipelined',
  title: `RPC echo pipelined, ${DEPTH} calls in flight`,
  sides: SIDES,
  columns: [
    { key: 'callsPerSec', label: 'calls/s' },
    { key: 'serverCpuUs', label: 'server CPU µs/call', digits: 1 },
    { key: 'clientCpuUs', label: 'client CPU µs/call', digits: 1 },
  ],
  run(ctx) {
    const { warmupMs, durationMs } = ctx.settings;
    return roundsOf(
      ctx,
      this.id,
      PIPELINE_SIZES,
      { task: 'pipeline', depth: DEPTH, warmupMs, durationMs },
      (c) => ({
        callsPerSec: c.callsPerSec as number,
        serverCpuUs: c.serverCpuUs as number,
        clientCpuUs: c.clientCpuUs as number,
      }),
    );
  },
};
