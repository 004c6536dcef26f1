import type { Client } from '../../client/client.js';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import { ECHO_URL } from './wire.js';

/** How long a pass runs: a time, or a number of calls (datagrams for quick). */
export type Limit = { durationMs: number } | { count: number };

export interface RpcPassResult {
  /** Answered calls that echoed the payload back. */
  calls: number;
  /** Calls that timed out, failed or came back with a non-zero status or the wrong size. */
  errors: number;
  seconds: number;
  callsPerSec: number;
  /** Payload bytes per second, both directions counted once (request size × calls/s). */
  mbPerSec: number;
  latency: LatencySummary | null;
}

export interface RpcPassOptions {
  size: number;
  /** Calls kept outstanding: 1 measures latency, more measures pipelined throughput. */
  inflight: number;
  limit: Limit;
  /** Per call. */
  timeoutMs?: number;
  /** Receives the pass's progress, 0..1, as it runs. */
  onProgress?: (fraction: number) => void;
}

/** Runs `/echo` calls with `inflight` outstanding until the limit; latency per call in the histogram. */
export function runRpcPass(client: Client, options: RpcPassOptions): Promise<RpcPassResult> {
  const { size, inflight } = options;
  const timeout = options.timeoutMs ?? 10_000;
  const maxCalls = 'count' in options.limit ? options.limit.count : Number.POSITIVE_INFINITY;
  const durationMs = 'durationMs' in options.limit ? options.limit.durationMs : Number.POSITIVE_INFINITY;
  const payload = size > 0 ? { data: Buffer.alloc(size, 0xa5) } : null;
  const histogram = new LatencyHistogram();
  const progress = options.onProgress;

  return new Promise((resolve, reject) => {
    const started = performance.now();
    const deadline = started + durationMs;
    let issued = 0;
    let outstanding = 0;
    let calls = 0;
    let errors = 0;
    let last = started;
    let failure: Error | undefined;

    const finish = (): void => {
      if (failure) {
        reject(failure);
        return;
      }
      const seconds = (last - started) / 1000;
      const callsPerSec = seconds > 0 ? calls / seconds : 0;
      resolve({
        calls,
        errors,
        seconds: round(seconds, 3),
        callsPerSec: round(callsPerSec, 1),
        mbPerSec: round((callsPerSec * size) / 1e6, 2),
        latency: histogram.summary(),
      });
    };

    const issue = (): void => {
      const sentAt = performance.now();
      issued++;
      outstanding++;
      const sent = client.call(ECHO_URL, { payload, timeout }, (_client, header, reply) => {
        outstanding--;
        last = performance.now();
        if (!header) {
          errors++;
          if (!client.connected) failure ??= new Error('the connection to the server was lost');
        } else if (header.status !== 0 || (reply?.data?.length ?? 0) !== size) {
          errors++;
        } else {
          calls++;
          histogram.record((last - sentAt) * 1e6);
        }
        if (progress) {
          progress(Number.isFinite(maxCalls) ? issued / maxCalls : (last - started) / durationMs);
        }
        if (!failure && issued < maxCalls && last < deadline) issue();
        else if (outstanding === 0) finish();
      });
      if (!sent) {
        issued--;
        outstanding--;
        failure ??= new Error(client.connected ? 'cannot send: too many calls pending' : 'not connected');
        if (outstanding === 0) finish();
      }
    };

    for (let i = 0; i < inflight && issued < maxCalls && !failure; i++) issue();
  });
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
