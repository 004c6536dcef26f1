import type { Client } from '../../client/client.js';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import { type Limit, round } from './rpc.js';
import { decodeStamp, encodeStamp, QUICK_URL } from './wire.js';

export interface QuickPassOptions {
  size: number;
  /** Datagrams per second. */
  rate: number;
  limit: Limit;
  /** After sending stops, how long to wait with no echo arriving before counting the rest lost. */
  quietMs?: number;
  onProgress?: (fraction: number) => void;
}

export interface QuickPassResult {
  rate: number;
  sent: number;
  echoed: number;
  /** Round-trip loss: datagrams sent whose echo never came back. */
  lossPct: number;
  /** Seconds spent sending. */
  seconds: number;
  /** The rate actually sent: below `rate` when this machine cannot send faster. */
  sendRate: number;
  rtt: LatencySummary | null;
}

/** Most datagrams sent in one turn of the event loop: lets echoes in between bursts. */
const MAX_BURST = 256;
/** How long an echo may come back late and still count. */
const LATE_WINDOW_S = 2;
const MAX_SEQ = 999_999_999;
const MAX_DRAIN_MS = 2000;

/**
 * Sends quick datagrams to `/bench/quick` at a steady rate and matches the echoes by the
 * sequence stamp in their param. Owns `client.ondata` while it exists.
 */
export class QuickProbe {
  private seq = 0;
  /** Send times of the current pass by seq, in a ring; NaN once echoed (duplicates ignored). */
  private sentAt = new Float64Array(0);
  private base = 0;
  private echoed = 0;
  private lastEchoAt = 0;
  private histogram = new LatencyHistogram();

  constructor(private readonly client: Client) {
    client.ondata = (_client, url, payload, quick) => {
      if (quick && url === QUICK_URL) this.onEcho(decodeStamp(payload.param));
    };
  }

  private onEcho(seq: number): void {
    const now = performance.now();
    const ring = this.sentAt.length;
    // Only echoes of this pass that are still in the ring: late ones of an earlier pass are ignored.
    if (seq < this.base || seq >= this.seq || seq < this.seq - ring) return;
    const slot = (seq - this.base) % ring;
    const at = this.sentAt[slot] as number;
    if (Number.isNaN(at)) return;
    this.sentAt[slot] = Number.NaN;
    this.echoed++;
    this.lastEchoAt = now;
    this.histogram.record((now - at) * 1e6);
  }

  /**
   * Sends a handful of datagrams until one comes back, for up to `ms`: whether the server
   * echoes quick datagrams at all.
   */
  async echoes(ms = 1500): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      const pass = await this.pass({ size: 0, rate: 50, limit: { count: 5 }, quietMs: 100 });
      if (pass.echoed > 0) return true;
    }
    return false;
  }

  pass(options: QuickPassOptions): Promise<QuickPassResult> {
    const { size, rate } = options;
    const maxCount = 'count' in options.limit ? options.limit.count : Number.POSITIVE_INFINITY;
    const durationMs = 'durationMs' in options.limit ? options.limit.durationMs : Number.POSITIVE_INFINITY;
    const quietMs = options.quietMs ?? 200;
    const progress = options.onProgress;
    const data = size > 0 ? Buffer.alloc(size, 0x5a) : undefined;

    if (this.seq > MAX_SEQ - 10_000_000) this.seq = 0;
    this.base = this.seq;
    this.sentAt = new Float64Array(Math.max(1024, Math.min(Math.ceil(rate * LATE_WINDOW_S), 4_000_000)));
    this.echoed = 0;
    this.histogram = new LatencyHistogram();
    const client = this.client;

    return new Promise((resolve, reject) => {
      const started = performance.now();
      let sent = 0;
      let sendEnd = started;

      const send = (): boolean => {
        const seq = this.seq;
        const stamp = encodeStamp(seq);
        this.sentAt[(seq - this.base) % this.sentAt.length] = performance.now();
        if (!client.datagram(QUICK_URL, { param: stamp, data }, true)) return false;
        this.seq++;
        sent++;
        return true;
      };

      const drained = (): void => {
        const seconds = (sendEnd - started) / 1000;
        resolve({
          rate,
          sent,
          echoed: this.echoed,
          lossPct: sent > 0 ? round(((sent - this.echoed) / sent) * 100, 3) : 0,
          seconds: round(seconds, 3),
          sendRate: seconds > 0 ? round(sent / seconds, 1) : sent,
          rtt: this.histogram.summary(),
        });
      };

      // Echoes still on their way are waited for until none arrived for quietMs.
      const drain = (): void => {
        sendEnd = performance.now();
        this.lastEchoAt = sendEnd;
        const check = (): void => {
          const now = performance.now();
          if (this.echoed >= sent || now - this.lastEchoAt >= quietMs || now - sendEnd >= MAX_DRAIN_MS)
            drained();
          else setTimeout(check, 5);
        };
        check();
      };

      const tick = (): void => {
        const now = performance.now();
        const elapsed = now - started;
        if (progress) progress(Number.isFinite(maxCount) ? sent / maxCount : elapsed / durationMs);
        if (sent >= maxCount || elapsed >= durationMs) {
          drain();
          return;
        }
        // Due so far at the target rate (the first one at once); behind schedule means a burst.
        const due = Math.min(Math.floor((elapsed * rate) / 1000) + 1, maxCount) - sent;
        const burst = Math.min(due, MAX_BURST);
        for (let i = 0; i < burst; i++) {
          if (!send()) {
            reject(new Error(client.connected ? 'the quick channel refused to send' : 'not connected'));
            return;
          }
        }
        if (due > burst) setImmediate(tick);
        else setTimeout(tick, Math.max(1, Math.min(100, Math.floor(1000 / rate))));
      };
      tick();
    });
  }
}

export interface SearchStep {
  rate: number;
  sent: number;
  echoed: number;
  lossPct: number;
  sendRate: number;
}

/** Below this loss a rate counts as sustained. */
const MAX_LOSS_PCT = 1;
const FIRST_RATE = 1000;
export const MAX_RATE = 1_000_000;

/**
 * Looks for the highest rate with less than 1% round-trip loss that this machine can also send:
 * ×4 steps up from 1000/s, then halving the gap, each step `stepMs` long, within `budgetMs`.
 */
export async function searchRate(
  probe: QuickProbe,
  size: number,
  budgetMs = 3000,
  stepMs = 250,
  onProgress?: (fraction: number) => void,
): Promise<{ rate: number; steps: SearchStep[] }> {
  const started = performance.now();
  const steps: SearchStep[] = [];
  let rate = FIRST_RATE;
  let best = 0;
  let worst = Number.POSITIVE_INFINITY;
  while (performance.now() - started + stepMs <= budgetMs) {
    onProgress?.((performance.now() - started) / budgetMs);
    const r = await probe.pass({ size, rate, limit: { durationMs: stepMs }, quietMs: 100 });
    steps.push({ rate, sent: r.sent, echoed: r.echoed, lossPct: r.lossPct, sendRate: r.sendRate });
    const ok = r.lossPct < MAX_LOSS_PCT && r.sendRate >= 0.9 * rate;
    if (ok) best = rate;
    else worst = Math.min(worst, rate);
    if (ok && rate >= MAX_RATE) break;
    const next = Number.isFinite(worst)
      ? best > 0
        ? Math.round((best + worst) / 2)
        : Math.max(1, Math.floor(rate / 4))
      : Math.min(rate * 4, MAX_RATE);
    // Close enough (within 10%), or nothing lower left to try.
    if (best > 0 && worst / best <= 1.1) break;
    if (next === rate) break;
    rate = next;
  }
  onProgress?.(1);
  return { rate: best > 0 ? best : rate, steps };
}
