import { describe, expect, it } from 'vitest';
import { soak } from './soak.js';

/**
 * The 1-minute soak (the 10-minute one with plots is `node --import tsx bench/soak.ts`):
 * 1,000 clients with mixed traffic and reconnect churn through the fault proxy. Nothing fails,
 * the server's memory does not trend upwards, and fds and heap return to the baseline.
 */

const MiB = 1024 * 1024;

describe('soak under the fault proxy', () => {
  it('1,000 clients for a minute: no failed RPC, no growth, back to baseline afterwards', async () => {
    const result = await soak({
      clients: 1000,
      durationMs: Number(process.env.SOAK_MS ?? 60_000),
      churnPerSecond: 5,
      faults: { latencyMs: 2, jitterMs: 3, udpLoss: 0.01 },
    });
    const { samples, baseline, after, counters } = result;
    expect(counters.rpcs).toBeGreaterThan(1000); // every client took part
    expect(counters.rpcErrors, result.errorCodes.join()).toBe(0);
    expect(counters.messages).toBeGreaterThan(0);
    // No upward trend: the last third of the run holds no more memory than the first third, plus slack.
    const third = Math.floor(samples.length / 3);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const early = mean(samples.slice(third > 0 ? 1 : 0, third + 1).map((s) => s.rssBytes));
    const late = mean(samples.slice(-third || -1).map((s) => s.rssBytes));
    expect(late).toBeLessThan(early * 1.25 + 16 * MiB);
    expect(after.clients).toBe(1);
    expect(after.fds).toBeLessThanOrEqual(baseline.fds + 5);
    expect(after.heapUsed - baseline.heapUsed).toBeLessThan(24 * MiB);
  }, 180_000);
});
