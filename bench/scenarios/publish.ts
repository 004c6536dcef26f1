/** Publish over TCP to one subscriber, and fan-out to 100 subscribers in a second process. */
import type { Json, Side } from '../lib/adapter.js';
import { type Scenario, type ScenarioContext, session, sidesInRound, sizeLabel } from './context.js';

const SIDES: readonly Side[] = ['ours', 'official'];
/** 262144 - 20 (header) - 5 ('/feed'). */
const MAX_PUBLISH_DATA = 262_119;
const SIZES = [1024, MAX_PUBLISH_DATA];

async function rounds(
  ctx: ScenarioContext,
  id: string,
  task: Json,
  pick: (c: Json) => Record<string, number>,
): Promise<void> {
  const { settings, results } = ctx;
  const labels = SIZES.map(sizeLabel);
  for (let round = 0; round < settings.rounds; round++) {
    for (const side of sidesInRound(SIDES, round)) {
      try {
        const bound = SIZES.length * (settings.warmupMs + settings.durationMs) * 3 + 60_000;
        const result = await session(side, settings, { ...task, sizes: SIZES }, bound);
        for (const c of result.cases as Json[]) {
          const label = sizeLabel(c.size as number);
          if (c.drained !== true) results.fail(id, [label], side, new Error('not every message arrived'));
          results.add(id, label, side, pick(c));
        }
      } catch (error) {
        results.fail(id, labels, side, error);
      }
    }
  }
}

export const publishTcp: Scenario = {
  id: 'publish-tcp',
  title: 'Publish over TCP to 1 subscriber (window-paced by subscriber acks)',
  sides: SIDES,
  columns: [
    { key: 'msgsPerSec', label: 'msgs/s' },
    { key: 'mbPerSec', label: 'MB/s', digits: 1 },
    { key: 'serverCpuUs', label: 'server CPU µs/msg', digits: 2 },
  ],
  run(ctx) {
    const { warmupMs, durationMs } = ctx.settings;
    return rounds(
      ctx,
      this.id,
      { task: 'publish', subscribers: 1, windowBytes: 2 * 1024 * 1024, warmupMs, durationMs },
      (c) => ({
        msgsPerSec: c.msgsPerSec as number,
        mbPerSec: c.mbPerSec as number,
        serverCpuUs: c.serverCpuUsPerPublish as number,
      }),
    );
  },
};

export const fanout: Scenario = {
  id: 'fanout',
  title: 'Fan-out: each publish to 100 TCP subscribers (one client process)',
  sides: SIDES,
  columns: [
    { key: 'publishesPerSec', label: 'publishes/s', digits: 1 },
    { key: 'mbPerSec', label: 'MB/s received', digits: 1 },
    { key: 'serverCpuUs', label: 'server CPU µs/publish', digits: 1 },
  ],
  run(ctx) {
    const { warmupMs, durationMs, fanoutSubscribers } = ctx.settings;
    return rounds(
      ctx,
      this.id,
      { task: 'publish', subscribers: fanoutSubscribers, windowBytes: 512 * 1024, warmupMs, durationMs },
      (c) => ({
        publishesPerSec: c.publishesPerSec as number,
        mbPerSec: c.mbPerSec as number,
        serverCpuUs: c.serverCpuUsPerPublish as number,
      }),
    );
  },
};
