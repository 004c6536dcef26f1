import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { MAX_PACKET_LENGTH, Type } from '../../src/protocol/index.js';
import type { RemoteClient } from '../../src/server/remote-client.js';
import type { Server, ServerOptions } from '../../src/server/server.js';
import type { MemoryLog } from './hostile-helpers.js';
import { frame, goodClient, RawPeer, roundTrip, runCleanups, startServer, WARN } from './hostile-helpers.js';

/*
 * A subscriber that stops reading while the server publishes 256 KiB packets: it must be cut
 * off (byte bound or send timeout), the server's queue for it must stay bounded, publish must
 * never wait for it, a well-behaved subscriber must get every publish in order, and what the
 * slow one did receive must be whole frames.
 */

afterEach(runCleanups);

const TOPIC = '/slow';
/** Data bytes per publish: with the url and a short param the packet is just under 256 KiB. */
const DATA_LENGTH = MAX_PACKET_LENGTH - 64;
/** Upper bound on publishes per test; the kernel absorbs a few MiB before anything queues. */
const MAX_PUBLISHES = 400;
/** Publishes the good subscriber may lag behind before the publisher waits for it. */
const WINDOW = 2;

const payloads: Buffer[] = [];
/** Publish #i: param i, data starting with i (shared buffers: no 100 MiB of allocations). */
function payloadFor(i: number): { param: number; data: Buffer } {
  let data = payloads[i % 8];
  if (!data) {
    data = Buffer.alloc(DATA_LENGTH, i % 8);
    payloads[i % 8] = data;
  }
  return { param: i, data };
}

/** Our Client subscribed to TOPIC, recording the index of every publish it gets. */
async function goodSubscriber(
  port: number,
): Promise<{ client: Client; got: number[]; upTo(n: number): Promise<void> }> {
  const client = await goodClient(port);
  const got: number[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  client.onmessage = (_c, url, payload) => {
    if (url !== TOPIC) return;
    const i = payload.param as number;
    if (payload.data?.length !== DATA_LENGTH || payload.data[0] !== i % 8)
      throw new Error(`publish ${i} damaged`);
    got.push(i);
    if (waiter && got.length >= waiter.n) waiter.resolve();
  };
  const ok = await new Promise<boolean>((resolve) =>
    client.subscribe(TOPIC, (_c, success) => resolve(success)),
  );
  expect(ok).toBe(true);
  return {
    client,
    got,
    upTo: (n) =>
      got.length >= n
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`good subscriber got ${got.length} of ${n}`)),
              5000,
            );
            waiter = {
              n,
              resolve: () => {
                clearTimeout(timer);
                waiter = undefined;
                resolve();
              },
            };
          }),
  };
}

/** A raw subscriber to TOPIC that then stops reading (its socket paused). */
async function slowSubscriber(
  server: Server,
  log: MemoryLog,
  port: number,
): Promise<{ raw: RawPeer; cli: RemoteClient; cid: number }> {
  const raw = await RawPeer.connect(port);
  const cid = await log.cidOf(raw.localPort);
  await raw.handshake();
  await raw.write(frame({ type: Type.SUBSCRIBE, url: TOPIC, seqno: 1 }));
  expect((await raw.packet(2)).status).toBe(0);
  raw.socket.pause();
  const cli = server.clients().find((c) => c.id === cid) as RemoteClient;
  return { raw, cli, cid };
}

/** After the slow one resumes: whole frames only (a cut-off tail at the close is allowed), in order. */
async function expectWholeFrames(raw: RawPeer, published: number): Promise<void> {
  raw.socket.resume();
  await raw.closed;
  expect(raw.decoder.failed).toBeUndefined();
  const publishes = raw.packets.slice(2);
  expect(publishes.length).toBeLessThan(published);
  publishes.forEach((p, i) => {
    expect([p.type, p.url, p.param?.toString(), p.data?.length, p.data?.[0]]).toEqual([
      Type.PUBLISH,
      TOPIC,
      String(i),
      DATA_LENGTH,
      i % 8,
    ]);
  });
}

interface Run {
  published: number;
  /** Largest queue the server held for the slow client, sampled after every publish. */
  maxQueued: number;
  maxPublishMs: number;
}

/**
 * Publishes, paced only by the good subscriber (at most WINDOW behind), while `keepGoing` holds.
 * Every publish is one synchronous call that returns at once, whatever the slow client does.
 */
async function publishLoop(
  server: Server,
  slow: RemoteClient,
  good: { upTo(n: number): Promise<void> },
  keepGoing: () => boolean,
): Promise<Run> {
  const run: Run = { published: 0, maxQueued: 0, maxPublishMs: 0 };
  while (keepGoing() && run.published < MAX_PUBLISHES) {
    const t0 = performance.now();
    expect(server.publish(TOPIC, payloadFor(run.published))).toBe(true);
    run.maxPublishMs = Math.max(run.maxPublishMs, performance.now() - t0);
    run.published++;
    run.maxQueued = Math.max(run.maxQueued, slow.conn.queuedBytes);
    await good.upTo(run.published - WINDOW);
  }
  return run;
}

async function setup(options: ServerOptions) {
  const { server, log, port } = await startServer(options);
  // The slow one connects first, so publish visits it before the good one.
  const slow = await slowSubscriber(server, log, port);
  const good = await goodSubscriber(port);
  return { server, log, slow, good };
}

/** The good subscriber gets everything, in order, also after the slow one is gone. */
async function expectGoodServed(server: Server, good: Awaited<ReturnType<typeof goodSubscriber>>, run: Run) {
  for (let i = 0; i < 4; i++) expect(server.publish(TOPIC, payloadFor(run.published++))).toBe(true);
  await good.upTo(run.published);
  expect(good.got).toEqual(Array.from({ length: run.published }, (_, i) => i));
  expect(good.client.connected).toBe(true);
  expect(await roundTrip(good.client)).toBe('still served');
  expect(server.count()).toBe(1);
}

describe('slow consumer', () => {
  it('is cut off by the send-queue byte bound (maxSendQueue), the queue never past it', async () => {
    const bound = 1024 * 1024;
    const { server, log, slow, good } = await setup({ sendTimeout: 0, maxSendQueue: bound });
    const run = await publishLoop(server, slow.cli, good, () => !slow.cli.isClosed());
    expect(slow.cli.isClosed()).toBe(true);
    const line = await log.waitFor(
      (l) => l.cid === slow.cid && l.msg === 'peer too slow: send queue full, closing',
    );
    expect(line.level).toBe(WARN);
    expect(line.queued).toBeLessThanOrEqual(bound);
    expect(run.maxQueued).toBeGreaterThan(0);
    expect(run.maxQueued).toBeLessThanOrEqual(bound + MAX_PACKET_LENGTH);
    expect(run.maxPublishMs).toBeLessThan(100);
    await log.released(slow.cid);
    await expectGoodServed(server, good, run);
    await expectWholeFrames(slow.raw, run.published);
  });

  it('is cut off by the send timeout (default 100 ms) once nothing it was sent moves', async () => {
    const { server, log, slow, good } = await setup({});
    // Publish until the kernel buffers are full and bytes wait in user space, then stop.
    const run = await publishLoop(server, slow.cli, good, () => slow.cli.conn.queuedBytes === 0);
    expect(slow.cli.conn.queuedBytes).toBeGreaterThan(0);
    const line = await log.waitFor(
      (l) => l.cid === slow.cid && l.msg === 'peer too slow: send timeout, closing',
    );
    expect(line.level).toBe(WARN);
    expect(line.timeout).toBe(100);
    expect(slow.cli.isClosed()).toBe(true);
    expect(run.maxQueued).toBeLessThanOrEqual(8 * 1024 * 1024 + MAX_PACKET_LENGTH);
    await log.released(slow.cid);
    await expectGoodServed(server, good, run);
    await expectWholeFrames(slow.raw, run.published);
  });

  it('with default settings, publishing on regardless, it is cut off and memory stays bounded', async () => {
    const { server, log, slow, good } = await setup({});
    const run = await publishLoop(server, slow.cli, good, () => !slow.cli.isClosed());
    expect(slow.cli.isClosed()).toBe(true);
    const line = await log.waitFor((l) => l.cid === slow.cid && /^peer too slow: /.test(l.msg));
    expect(line.level).toBe(WARN);
    expect(run.maxQueued).toBeLessThanOrEqual(8 * 1024 * 1024 + MAX_PACKET_LENGTH);
    expect(run.maxPublishMs).toBeLessThan(100);
    await log.released(slow.cid);
    await expectGoodServed(server, good, run);
    await expectWholeFrames(slow.raw, run.published);
  });

  it('a synchronous burst never waits for it: the burst ends, it is cut within the burst', async () => {
    const bound = 2 * 1024 * 1024;
    const { server, log, port } = await startServer({ maxSendQueue: bound });
    const slow = await slowSubscriber(server, log, port);
    const bystander = await goodClient(port); // not subscribed: the burst is not for it
    let maxQueued = 0;
    let published = 0;
    const t0 = performance.now();
    for (; published < 64; published++) {
      expect(server.publish(TOPIC, payloadFor(published))).toBe(true);
      maxQueued = Math.max(maxQueued, slow.cli.conn.queuedBytes);
    }
    const burstMs = performance.now() - t0;
    // All of this ran in one turn of the event loop: only the byte bound can have acted.
    expect(slow.cli.isClosed()).toBe(true);
    expect(maxQueued).toBeLessThanOrEqual(bound + MAX_PACKET_LENGTH);
    expect(burstMs).toBeLessThan(1000);
    await log.waitFor((l) => l.cid === slow.cid && l.msg === 'peer too slow: send queue full, closing');
    await log.released(slow.cid);
    expect(server.isSubscribed(TOPIC)).toBe(false);
    expect(await roundTrip(bystander)).toBe('still served');
    await expectWholeFrames(slow.raw, published);
  });
});
