/** Quick publish over UDP to one subscriber: flat-out loss, then the best rate under 1% loss. */
import type { Json, Side } from '../lib/adapter.js';
import { type Scenario, session, sidesInRound, sizeLabel } from './context.js';

const SIDES: readonly Side[] = ['ours', 'official'];
/** 65504 (largest 4-aligned quick packet) - 20 (header) - 5 ('/tick'). */
const MAX_QUICK_DATA = 65_479;
const SIZES = [1024, MAX_QUICK_DATA];

export const quickPublish: Scenario = {
  id: 'quick-udp',
  title: 'Quick publish over UDP to 1 subscriber',
  sides: SIDES,
  columns: [
    { key: 'sent', label: 'sent' },
    { key: 'received', label: 'received' },
    { key: 'lossPct', label: 'loss %', digits: 1 },
    { key: 'sendRate', label: 'flat-out msgs/s' },
    { key: 'bestRate', label: 'best msgs/s <1% loss' },
    { key: 'bestMbPerSec', label: 'best MB/s', digits: 1 },
  ],
  note: 'sent/received/loss: one flat-out stream; best: binary search over the send rate, short probes.',
  async run({ settings, results }) {
    const { warmupMs, durationMs, quickProbeMs, quickProbes } = settings;
    const task = {
      task: 'quick',
      sizes: SIZES,
      warmupMs,
      durationMs,
      probeMs: quickProbeMs,
      probes: quickProbes,
    };
    const bound = SIZES.length * (warmupMs + durationMs + quickProbes * (quickProbeMs + 1000)) * 2 + 60_000;
    for (let round = 0; round < settings.rounds; round++) {
      for (const side of sidesInRound(SIDES, round)) {
        try {
          const result = await session(side, settings, task, bound);
          for (const c of result.cases as Json[]) {
            results.add(this.id, sizeLabel(c.size as number), side, {
              sent: c.sent as number,
              received: c.received as number,
              lossPct: (c.loss as number) * 100,
              sendRate: c.sendRate as number,
              bestRate: c.bestRate as number,
              bestMbPerSec: c.bestMbPerSec as number,
            });
          }
        } catch (error) {
          results.fail(this.id, SIZES.map(sizeLabel), side, error);
        }
      }
    }
  },
};
