/**
 * Quick (UDP) publish to one subscriber: a flat-out stream (sent, received, loss), then a
 * short search for the highest send rate that loses under 1%. With Linux's default
 * 208 KiB receive buffer only three maximum-size datagrams fit, so any stall of the
 * receiving process loses some: the large-datagram rate is sensitive to machine load.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientAdapter, ClientFactory, Json } from '../adapter.js';

/** 5 characters like '/echo': 20 + 5 + 65479 = 65504, the largest 4-aligned quick packet. */
const TOPIC = '/tick';
const MAX_LOSS = 0.01;

interface Probe {
  sent: number;
  received: number;
  loss: number;
  /** Achieved send rate, messages/s. */
  sendRate: number;
}

class Counter {
  received = 0;
  lastAt = 0;
  constructor(client: ClientAdapter) {
    client.onMessage((_bytes, quick) => {
      if (!quick) return;
      this.received++;
      this.lastAt = performance.now();
    });
  }

  /** Waits until no datagram came for `quietMs` (bounded): late ones still count. */
  async settle(quietMs = 30, boundMs = 1000): Promise<void> {
    const until = performance.now() + boundMs;
    while (performance.now() < until && performance.now() - this.lastAt < quietMs) await sleep(5);
  }
}

async function probe(
  client: ClientAdapter,
  counter: Counter,
  size: number,
  rate: number,
  durationMs: number,
  count = 0,
): Promise<Probe> {
  counter.received = 0;
  counter.lastAt = performance.now();
  const server = await client.control(
    '/ctl/stream',
    {
      topic: TOPIC,
      size,
      quick: true,
      rate,
      durationMs: count > 0 ? 0 : durationMs,
      count,
      // Flat out: bursts of 32 per loop turn. Paced: one at a time, evenly spread.
      burst: rate > 0 ? 1 : 32,
    },
    durationMs + 60_000,
  );
  await counter.settle();
  const sent = server.sent as number;
  const received = counter.received;
  return {
    sent,
    received,
    loss: sent > 0 ? Math.max(0, 1 - received / sent) : 0,
    sendRate: (sent * 1000) / (server.elapsedMs as number),
  };
}

async function subscribed(factory: ClientFactory, port: number): Promise<[ClientAdapter, Counter]> {
  const client = factory();
  await client.connect(port);
  const counter = new Counter(client);
  await client.subscribe(TOPIC);
  return [client, counter];
}

export async function quickTask(factory: ClientFactory, task: Json): Promise<Json> {
  const [client, counter] = await subscribed(factory, task.port as number);
  const cases: Json[] = [];
  for (const size of task.sizes as number[]) {
    await probe(client, counter, size, 0, task.warmupMs as number);
    const flat = await probe(client, counter, size, 0, task.durationMs as number);
    let best = 0;
    const tried: Json[] = [];
    if (flat.loss < MAX_LOSS) {
      best = flat.sendRate;
    } else {
      let lo = 0;
      let hi = flat.sendRate;
      for (let i = 0; i < (task.probes as number); i++) {
        // Down by 4× until a rate passes, then geometric bisection between pass and fail.
        const mid = lo > 0 ? Math.sqrt(lo * hi) : hi / 4;
        const p = await probe(client, counter, size, mid, task.probeMs as number);
        tried.push({ rate: mid, ...p });
        if (p.loss < MAX_LOSS) {
          lo = mid;
          best = Math.max(best, p.sendRate);
        } else {
          hi = mid;
        }
      }
    }
    cases.push({
      size,
      sent: flat.sent,
      received: flat.received,
      loss: flat.loss,
      sendRate: flat.sendRate,
      bestRate: best,
      bestMbPerSec: (best * size) / 1e6,
      probes: tried,
    });
  }
  client.close();
  return { cases };
}

/** For the allocation scenario: `count` quick publishes as fast as the server loop goes. */
export async function quickCountTask(factory: ClientFactory, task: Json): Promise<Json> {
  const [client, counter] = await subscribed(factory, task.port as number);
  const p = await probe(client, counter, task.size as number, 0, 0, task.count as number);
  client.close();
  return { ...p };
}
