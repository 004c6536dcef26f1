/**
 * Server-side publisher with pacing, shared by every side. TCP streams are window-paced:
 * at most `window` messages beyond the subscriber's last ack, so the publisher measures
 * throughput instead of tripping the slow-subscriber cut-off (send queue limit, send
 * timeout). Quick (UDP) streams are rate-paced (`rate` messages/s, 0 = as fast as the loop
 * goes). Both publish in bursts and yield to the event loop between them.
 */
import { performance } from 'node:perf_hooks';
import type { Json, ServerAdapter } from './adapter.js';
import { num } from './messages.js';

interface Running {
  sent: number;
  acked: number;
  scheduled: boolean;
  finish: () => void;
}

export class Streamer {
  private running: Running | undefined;
  private pump: (() => void) | undefined;

  constructor(private readonly server: ServerAdapter) {}

  /** A subscriber has received `n` messages of the current stream in total. */
  ack(n: number): void {
    const run = this.running;
    if (!run || n <= run.acked) return;
    run.acked = n;
    if (!run.scheduled) this.pump?.();
  }

  run(params: Json): Promise<Json> {
    if (this.running) return Promise.reject(new Error('a stream is already running'));
    const topic = typeof params.topic === 'string' ? params.topic : '/feed';
    const quick = params.quick === true;
    const data = Buffer.alloc(num(params, 'size'), 0x5a);
    const window = num(params, 'window', 0);
    const rate = num(params, 'rate', 0);
    const durationMs = num(params, 'durationMs', 0);
    const count = num(params, 'count', 0);
    const burst = Math.max(1, num(params, 'burst', 64));
    if (durationMs <= 0 && count <= 0) return Promise.reject(new Error('durationMs or count required'));

    return new Promise<Json>((resolve) => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let endTimer: NodeJS.Timeout | undefined;
      const run: Running = {
        sent: 0,
        acked: 0,
        scheduled: false,
        finish: () => {
          if (this.running !== run) return;
          this.running = undefined;
          this.pump = undefined;
          clearTimeout(endTimer);
          const cpu = process.cpuUsage(cpu0);
          resolve({
            sent: run.sent,
            elapsedMs: performance.now() - t0,
            cpuUserUs: cpu.user,
            cpuSystemUs: cpu.system,
          });
        },
      };
      const pump = (): void => {
        run.scheduled = false;
        if (this.running !== run) return;
        if (count > 0 && run.sent >= count) {
          run.finish();
          return;
        }
        let budget = burst;
        if (rate > 0)
          budget = Math.min(budget, Math.floor((rate * (performance.now() - t0)) / 1000) - run.sent);
        if (window > 0) budget = Math.min(budget, run.acked + window - run.sent);
        if (count > 0) budget = Math.min(budget, count - run.sent);
        for (let i = 0; i < budget; i++) this.server.publish(topic, data, quick);
        if (budget > 0) run.sent += budget;
        if (count > 0 && run.sent >= count) {
          run.finish();
          return;
        }
        // Window closed: the next ack resumes. Rate-paced: poll on every loop turn, so that
        // sends spread evenly instead of bunching up behind a timer tick.
        if (window > 0 && run.sent >= run.acked + window) return;
        run.scheduled = true;
        setImmediate(pump);
      };
      this.running = run;
      this.pump = pump;
      if (durationMs > 0) endTimer = setTimeout(run.finish, durationMs);
      pump();
    });
  }
}
