/**
 * Publish over TCP to N subscribers in this child (N = 1: throughput; N = 100: fan-out).
 * The server streams window-paced: the subscribers' slowest count is acked back every
 * `ackEvery` messages (by datagram on subscriber 0), so nobody is cut off as too slow.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientAdapter, ClientFactory, Json } from '../adapter.js';
import { connectAll } from './connect.js';

const TOPIC = '/feed';

class Subscribers {
  readonly counts: number[];
  bytes = 0;
  lastAt = 0;
  private ackEvery = 1;
  /** Ack level → subscribers that reached it. */
  private readonly reached = new Map<number, number>();

  constructor(readonly clients: ClientAdapter[]) {
    this.counts = clients.map(() => 0);
    clients.forEach((client, i) => {
      client.onMessage((bytes) => this.received(i, bytes));
    });
  }

  reset(ackEvery: number): void {
    this.counts.fill(0);
    this.bytes = 0;
    this.lastAt = 0;
    this.ackEvery = ackEvery;
    this.reached.clear();
  }

  get total(): number {
    let sum = 0;
    for (const c of this.counts) sum += c;
    return sum;
  }

  private received(i: number, bytes: number): void {
    const n = ++(this.counts[i] as number);
    this.bytes += bytes;
    this.lastAt = performance.now();
    if (n % this.ackEvery !== 0) return;
    const level = n / this.ackEvery;
    const got = (this.reached.get(level) ?? 0) + 1;
    if (got < this.clients.length) {
      this.reached.set(level, got);
      return;
    }
    this.reached.delete(level);
    this.clients[0]?.datagram('/ack', { n });
  }

  /** Waits until every subscriber has `sent` messages (TCP loses none), bounded. */
  async drain(sent: number, boundMs: number): Promise<boolean> {
    const until = performance.now() + boundMs;
    while (this.counts.some((c) => c < sent)) {
      if (performance.now() > until) return false;
      await sleep(2);
    }
    return true;
  }
}

export async function publishTask(factory: ClientFactory, task: Json): Promise<Json> {
  const port = task.port as number;
  const n = (task.subscribers as number | undefined) ?? 1;
  const windowBytes = task.windowBytes as number;
  const clients = await connectAll(factory, port, n);
  await Promise.all(clients.map((c) => c.subscribe(TOPIC)));
  const subs = new Subscribers(clients);
  const driver = clients[0] as ClientAdapter;

  const stream = async (size: number, durationMs: number): Promise<Json> => {
    const window = Math.max(2, Math.floor(windowBytes / Math.max(size, 64)));
    const ackEvery = Math.max(1, Math.floor(window / 4));
    subs.reset(ackEvery);
    const cpu0 = process.cpuUsage();
    const faults0 = process.resourceUsage().minorPageFault;
    const t0 = performance.now();
    const server = await driver.control(
      '/ctl/stream',
      { topic: TOPIC, size, window, durationMs, burst: 64 },
      durationMs + 60_000,
    );
    const sent = server.sent as number;
    const drained = await subs.drain(sent, 10_000);
    const elapsedMs = (subs.lastAt || performance.now()) - t0;
    const cpu = process.cpuUsage(cpu0);
    const faults = process.resourceUsage().minorPageFault - faults0;
    return {
      faultsPerMsg: faults / Math.max(1, subs.total),
      size,
      subscribers: n,
      sent,
      received: subs.total,
      drained,
      elapsedMs,
      msgsPerSec: (subs.total * 1000) / elapsedMs,
      publishesPerSec: (sent * 1000) / elapsedMs,
      mbPerSec: subs.bytes / 1e6 / (elapsedMs / 1000),
      serverCpuUsPerPublish:
        ((server.cpuUserUs as number) + (server.cpuSystemUs as number)) / Math.max(1, sent),
      serverElapsedMs: server.elapsedMs,
      /** All subscribers' process CPU per message received. */
      clientCpuUsPerMsg: (cpu.user + cpu.system) / Math.max(1, subs.total),
    };
  };

  const cases: Json[] = [];
  for (const size of task.sizes as number[]) {
    await stream(size, task.warmupMs as number);
    cases.push(await stream(size, task.durationMs as number));
  }
  for (const c of clients) c.close();
  return { cases };
}
