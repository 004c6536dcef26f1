import { describe, expect, it } from 'vitest';
import { Client, ConnectCode, type Server, type VsoaError } from '../../src/index.js';
import { collector, deferred, onCleanup, startServer, until } from '../helpers/net.js';
import { FaultProxy } from './proxy.js';

/**
 * Fault scenarios through the user-space proxy, each with the bound it must meet. Bounds carry
 * slack for a loaded 2-core CI machine; the slack is stated next to each bound.
 */

const SLACK_MS = 1500;

async function proxied(server: Server): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ port: server.address().port });
  onCleanup(() => proxy.close());
  return proxy;
}

async function connectThrough(proxy: FaultProxy): Promise<Client> {
  const client = new Client();
  onCleanup(() => client.close());
  const code = await client.connect(proxy.url, { timeout: 5000 });
  expect(code).toBe(ConnectCode.OK);
  return client;
}

function echoServer(server: Server): void {
  server.command('/echo', (cli, req, payload) => cli.reply(req.seqno, payload));
}

describe('fault injection: RPC', () => {
  it('under 20 ms latency and 20 ms jitter, 200 concurrent RPCs all complete with their own reply', async () => {
    const { server } = await startServer();
    echoServer(server);
    const proxy = await proxied(server);
    const client = await connectThrough(proxy);
    proxy.set({ latencyMs: 20, jitterMs: 20 });
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.fetch('/echo', { payload: { param: { i } }, timeout: 10_000 }),
      ),
    );
    expect(replies.map((r) => r.payload.param)).toEqual(Array.from({ length: 200 }, (_, i) => ({ i })));
  });

  it('during a partition an RPC fails at its own timeout (never hangs); after healing RPCs succeed', async () => {
    const { server } = await startServer();
    echoServer(server);
    const proxy = await proxied(server);
    const client = await connectThrough(proxy);
    proxy.set({ partitioned: true });
    const started = Date.now();
    const error = (await client.fetch('/echo', { timeout: 300 }).catch((e: unknown) => e)) as VsoaError;
    const elapsed = Date.now() - started;
    expect(error.code).toBe('ERR_VSOA_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(300 + SLACK_MS);
    proxy.heal();
    const { payload } = await client.fetch('/echo', { payload: { param: 'after' }, timeout: 5000 });
    expect(payload.param).toBe('after');
  });

  it('a half-open link (bytes vanish, nothing closes): RPCs fail at their own timeout', async () => {
    const { server } = await startServer();
    echoServer(server);
    const proxy = await proxied(server);
    const client = await connectThrough(proxy);
    proxy.set({ blackhole: true });
    const started = Date.now();
    const results = await Promise.allSettled([1, 2, 3].map(() => client.fetch('/echo', { timeout: 400 })));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as VsoaError).code).toBe('ERR_VSOA_TIMEOUT');
    }
    expect(Date.now() - started).toBeLessThan(400 + SLACK_MS);
  });

  it('RST in the middle of a 256 KiB reply: the pending RPC fails at once, not at its timeout', async () => {
    const { server } = await startServer();
    const big = Buffer.alloc(262_100, 7);
    server.command('/big', (cli, req) => cli.reply(req.seqno, { data: big }));
    const proxy = await proxied(server);
    const client = await connectThrough(proxy);
    const lost = deferred<unknown>();
    client.on('disconnect', (reason: unknown) => lost.resolve(reason));
    proxy.resetAfter(100_000);
    const started = Date.now();
    const error = (await client.fetch('/big', { timeout: 30_000 }).catch((e: unknown) => e)) as VsoaError;
    expect(error.code).toBe('ERR_VSOA_NOT_CONNECTED');
    expect(Date.now() - started).toBeLessThan(SLACK_MS);
    const reason = (await lost.promise) as VsoaError | undefined;
    // The close reason reaches the application: the peer reset the link.
    expect(['ERR_VSOA_SOCKET', 'ERR_VSOA_PEER_CLOSED']).toContain(reason?.code);
    expect(client.connected).toBe(false);
  });
});

describe('fault injection: robot', () => {
  it('detects a partition within keepalive × (pingLost + 1) and recovers within reconnDelay after healing, re-subscribed', async () => {
    const { server } = await startServer();
    const proxy = await proxied(server);
    const keepalive = 200;
    const pingLost = 2;
    const reconnDelay = 300;
    const client = new Client();
    onCleanup(() => client.close());
    const messages: unknown[] = [];
    client.onmessage = (_c, _url, payload) => messages.push(payload.param);
    const up = deferred();
    client.subscribe('/news/', () => {});
    client.on('connect', () => up.resolve());
    client.robot(proxy.url, { keepalive, pingLost, reconnDelay, connTimeout: 1000 });
    await up.promise;
    await until(() => server.isSubscribed('/news/x'), 5000, 'subscription');

    const down = deferred<number>();
    client.once('disconnect', () => down.resolve(Date.now()));
    const cut = Date.now();
    proxy.set({ partitioned: true });
    const detectedAt = await down.promise;
    // The robot's own schedule: pingLost + 1 lost pings of `keepalive` each; slack for a loaded machine.
    expect(detectedAt - cut).toBeLessThan(keepalive * (pingLost + 1) + keepalive + SLACK_MS);
    expect(client.robotHealth()).toBe(true);

    const back = deferred<number>();
    client.once('connect', () => back.resolve(Date.now()));
    const healed = Date.now();
    proxy.heal();
    const reconnectedAt = await back.promise;
    expect(reconnectedAt - healed).toBeLessThan(reconnDelay + SLACK_MS);
    // Re-subscribed before onconnect: a publish right away arrives.
    server.publish('/news/x', { param: 'fresh' });
    await until(() => messages.includes('fresh'), 5000, 'publish after reconnect');
  });
});

describe('fault injection: publish', () => {
  it('quick publishes under 30% loss and 10% duplication degrade to loss, never to errors', async () => {
    const { server } = await startServer();
    const proxy = await proxied(server);
    const client = await connectThrough(proxy);
    const got: number[] = [];
    client.onmessage = (_c, _url, payload, quick) => {
      if (quick) got.push(payload.param as number);
    };
    const subscribed = deferred<boolean>();
    client.subscribe('/q/', (_c, ok) => subscribed.resolve(ok));
    expect(await subscribed.promise).toBe(true);
    // A clean round first: quick traffic really flows through the relay.
    server.publish('/q/x', { param: -1 }, true);
    await until(() => got.includes(-1), 5000, 'a quick publish through the proxy');
    got.length = 0;

    proxy.set({ udpLoss: 0.3, udpDuplicate: 0.1 });
    const total = 400;
    for (let i = 0; i < total; i++) {
      expect(server.publish('/q/x', { param: i }, true)).toBe(true);
      if (i % 20 === 19) await new Promise((r) => setImmediate(r)); // paced: loopback buffers are small
    }
    server.publish('/q/end', { param: -2 }, false); // a TCP marker: everything quick was sent before it
    const endSeen = deferred();
    const previous = client.onmessage;
    client.onmessage = (c, url, payload, quick) => {
      if (url === '/q/end') endSeen.resolve();
      previous?.(c, url, payload, quick);
    };
    await endSeen.promise;
    await until(() => proxy.stats.udpForwarded >= got.length, 2000, 'quick datagrams in flight');
    await new Promise((r) => setImmediate(r));
    expect(client.connected).toBe(true);
    expect(got.length).toBeGreaterThan(total * 0.4);
    expect(got.length).toBeLessThan(total * 1.2);
    expect(got.every((v) => Number.isInteger(v) && v >= 0 && v < total)).toBe(true);
    expect(proxy.stats.udpDropped).toBeGreaterThan(0);
    expect(proxy.stats.udpDuplicated).toBeGreaterThan(0);
  });

  it('TCP publishes under latency, jitter and a 2 MB/s limit: none lost, none reordered', async () => {
    const { server } = await startServer();
    const proxy = await proxied(server);
    const client = await connectThrough(proxy);
    const total = 1500;
    const got = collector<number>(total);
    client.onmessage = (_c, _url, payload) => got.push((payload.param as { i: number }).i);
    const subscribed = deferred<boolean>();
    client.subscribe('/t/', (_c, ok) => subscribed.resolve(ok));
    expect(await subscribed.promise).toBe(true);
    proxy.set({ latencyMs: 5, jitterMs: 15, bytesPerSecond: 2_000_000 });
    const pad = 'x'.repeat(1000);
    for (let i = 0; i < total; i++) {
      server.publish('/t/seq', { param: { i, pad } });
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    const items = await got.done;
    expect(items).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('a subscriber behind a 32 KiB/s link is cut off by the send timeout; memory stays bounded', async () => {
    const { server } = await startServer({ sendTimeout: 200 });
    const proxy = await proxied(server);
    const client = await connectThrough(proxy);
    const subscribed = deferred<boolean>();
    client.subscribe('/bulk', (_c, ok) => subscribed.resolve(ok));
    expect(await subscribed.promise).toBe(true);
    const gone = deferred<unknown>();
    server.onclient = (_cli, connected, reason?: unknown) => {
      if (!connected) gone.resolve(reason);
    };
    proxy.set({ bytesPerSecond: 32 * 1024 });
    const before = process.memoryUsage().rss;
    const chunk = Buffer.alloc(256 * 1024 - 64, 1);
    let peak = before;
    let stop = false;
    void gone.promise.then(() => {
      stop = true;
    });
    for (let i = 0; i < 2000 && !stop; i++) {
      server.publish('/bulk', { data: chunk });
      peak = Math.max(peak, process.memoryUsage().rss);
      await new Promise((r) => setTimeout(r, 1));
    }
    const reason = (await gone.promise) as VsoaError | undefined;
    expect(stop).toBe(true);
    if (reason !== undefined)
      expect(['ERR_VSOA_SEND_TIMEOUT', 'ERR_VSOA_SEND_QUEUE_FULL']).toContain(reason.code);
    // The proxy holds up to 4 MiB and the server's queue is bounded (8 MiB): far below what was offered.
    expect(peak - before).toBeLessThan(96 * 1024 * 1024);
  });
});
