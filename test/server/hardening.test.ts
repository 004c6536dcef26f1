/**
 * Server defects of the hardening issue (16), each with the attack that found it: a deep RPC
 * url (2), subscription floods (4), spoofed quick datagrams (7), password guessing (8).
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { matchKeyCacheSize, Status, Type } from '../../src/protocol/index.js';
import { Server } from '../../src/server/server.js';
import { until } from '../helpers/net.js';
import {
  frame,
  goodClient,
  onCleanup,
  RawPeer,
  roundTrip,
  runCleanups,
  startServer,
  WARN,
} from './hostile-helpers.js';

afterEach(runCleanups);

const PASSWD = 'secret';

describe('routing cost (defect 2)', () => {
  it('128 RPCs whose url is 65,535 slashes: answered, the key cache bounded, a control client served at once', async () => {
    const { server, port } = await startServer();
    server.command('/a/', (cli, req) => cli.reply(req.seqno));
    const good = await goodClient(port);
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    // 65,535 bytes, nearly all slashes, each url distinct (so no cache can help).
    const deep = (n: number): string => `${'/'.repeat(65_531)}${String(n).padStart(4, '0')}`;
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    for (let seqno = 1; seqno <= 128; seqno++)
      raw.socket.write(frame({ type: Type.RPC, url: deep(seqno), seqno }));
    // The control client's request goes out while the server works through the 8.4 MB.
    const control = roundTrip(good).then(() => performance.now() - started);
    // Before: ~0.2 s of CPU each (every prefix built, hashed and cached), 25 s for 128.
    const last = await raw.packet(129);
    expect(last.seqno).toBe(128);
    expect(raw.packets.slice(1).every((p) => p.status === Status.INVALID_URL)).toBe(true);
    expect(await control).toBeLessThan(3000);
    // Before: 2.7 MB retained per distinct url, 358 MB for 128. Bounded now whatever peers send.
    const cache = matchKeyCacheSize();
    expect(cache.chars).toBeLessThan(512 * 18 * 258);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    // A prefix command serving a deep url still routes.
    await raw.write(frame({ type: Type.RPC, url: `/a${deep(0).slice(2)}`, seqno: 500 }));
    expect((await raw.packet(130)).status).toBe(Status.SUCCESS);
    expect(raw.isClosed).toBe(false);
  });
});

describe('subscription limits (defect 4)', () => {
  const subscribeList = (urls: string[], seqno: number): Buffer =>
    frame({ type: Type.SUBSCRIBE, seqno }, JSON.stringify(urls));

  it('past maxSubscriptions (default 1024) a SUBSCRIBE gets NO_MEMORY, changes nothing, and the connection stays', async () => {
    const { server, port } = await startServer();
    const good = await goodClient(port);
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    const urls = Array.from({ length: 1024 }, (_, i) => `/t/${i}`);
    await raw.write(subscribeList(urls, 1));
    expect((await raw.packet(2)).status).toBe(Status.SUCCESS);
    // Already held: no new entry, so still within the limit.
    await raw.write(frame({ type: Type.SUBSCRIBE, url: '/t/7', seqno: 2 }));
    expect((await raw.packet(3)).status).toBe(Status.SUCCESS);
    await raw.write(subscribeList(['/t/7', '/extra'], 3));
    const refused = await raw.packet(4);
    expect([refused.type, refused.status, refused.seqno]).toEqual([Type.SUBSCRIBE, Status.NO_MEMORY, 3]);
    expect(server.isSubscribed('/extra')).toBe(false);
    // Unsubscribing makes room again.
    await raw.write(frame({ type: Type.UNSUBSCRIBE, url: '/t/0', seqno: 4 }));
    expect((await raw.packet(5)).status).toBe(Status.SUCCESS);
    await raw.write(frame({ type: Type.SUBSCRIBE, url: '/extra', seqno: 5 }));
    expect((await raw.packet(6)).status).toBe(Status.SUCCESS);
    expect(server.isSubscribed('/extra')).toBe(true);
    expect(raw.isClosed).toBe(false);
    expect(await roundTrip(good)).toBe('still served');
  });

  it('past maxSubscriptionBytes (default 64 KiB of urls) a SUBSCRIBE gets NO_MEMORY; the limits are options', async () => {
    const { server, port } = await startServer();
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    const long = (c: string): string => `/${c.repeat(40_000)}`;
    await raw.write(frame({ type: Type.SUBSCRIBE, url: long('a'), seqno: 1 }));
    expect((await raw.packet(2)).status).toBe(Status.SUCCESS);
    await raw.write(frame({ type: Type.SUBSCRIBE, url: long('b'), seqno: 2 }));
    expect((await raw.packet(3)).status).toBe(Status.NO_MEMORY);
    expect(server.isSubscribed(long('b'))).toBe(false);
    expect(server.isSubscribed(long('a'))).toBe(true);

    const small = await startServer({ maxSubscriptions: 2, maxSubscriptionBytes: 10 });
    const peer = await RawPeer.connect(small.port);
    await peer.handshake();
    await peer.write(frame({ type: Type.SUBSCRIBE, url: '/12345678', seqno: 1 }));
    expect((await peer.packet(2)).status).toBe(Status.SUCCESS);
    await peer.write(frame({ type: Type.SUBSCRIBE, url: '/12', seqno: 2 }));
    expect((await peer.packet(3)).status).toBe(Status.NO_MEMORY); // 9 + 3 bytes > 10
    await peer.write(frame({ type: Type.SUBSCRIBE, url: '/', seqno: 3 }));
    expect((await peer.packet(4)).status).toBe(Status.SUCCESS);
    await peer.write(frame({ type: Type.SUBSCRIBE, url: '/x', seqno: 4 }));
    expect((await peer.packet(5)).status).toBe(Status.NO_MEMORY); // a third subscription
    expect(peer.isClosed).toBe(false);
    expect(() => new Server({ maxSubscriptions: -1 })).toThrow(/maxSubscriptions/);
    expect(() => new Server({ maxSubscriptionBytes: 1.5 })).toThrow(RangeError);
  });
});

describe('quick datagrams are attributed only to the announced quick address and port (defect 7)', () => {
  function udpSocket(address: string): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket('udp4');
      onCleanup(() => new Promise<void>((done) => sock.close(() => done())));
      sock.once('error', reject);
      sock.bind(0, address, () => {
        sock.off('error', reject);
        resolve(sock);
      });
    });
  }

  it('a client that announced no quick port: spoofs with its id from any port of its address are dropped', async () => {
    const { server, log, port } = await startServer();
    const heard: Array<[number, string]> = [];
    server.ondata = (cli, url) => heard.push([cli.id, url]);
    const raw = await RawPeer.connect(port);
    const rawId = await raw.handshake(); // no tunid: no quick port
    const good = await goodClient(port);
    const spoofers = await Promise.all([
      udpSocket('127.0.0.1'),
      udpSocket('127.0.0.1'),
      udpSocket('127.0.0.1'),
    ]);
    // Ids are sequential: the attacker tries the neighbours too.
    for (const sock of spoofers) {
      for (const cid of [rawId, rawId + 2, rawId + 3]) {
        sock.send(frame({ type: Type.DATAGRAM, url: '/spoof', seqno: cid }, '"x"'), port, '127.0.0.1');
      }
    }
    await log.waitFor(
      () => log.lines.filter((l) => l.msg === 'dropping unattributable quick datagram').length === 9,
      'nine spoofs dropped',
    );
    // The control: the good client's own quick datagram, from its announced port, is heard.
    expect(good.datagram('/real', { param: 1 }, true)).toBe(true);
    await until(() => heard.length > 0, 5000, 'the real quick datagram');
    expect(heard).toEqual([[good.id, '/real']]);
    expect(raw.isClosed).toBe(false);
  });
});

describe('password guessing is throttled per address (defect 8)', () => {
  /** Opens a raw peer from `localAddress` and sends one SERVINFO with `passwd`; resolves its reply status and time. */
  async function attempt(port: number, localAddress: string, passwd: string, t0: number) {
    const peer = await RawPeer.connect(port, { localAddress });
    await peer.write(frame({ type: Type.SERVINFO }, JSON.stringify({ passwd })));
    const reply = await peer.packet(1);
    return { status: reply.status, ms: performance.now() - t0 };
  }

  it('an address hammering wrong passwords is slowed down exponentially; another address is served at once', async () => {
    const { log, port } = await startServer({ passwd: PASSWD, authBackoffBase: 200 });
    const t0 = performance.now();
    // Six guesses in parallel from 127.0.0.1: three free, then 0, 200, 200+400 ms after each other.
    const guesses = Array.from({ length: 6 }, () => attempt(port, '127.0.0.1', 'guess', t0));
    await new Promise((r) => setTimeout(r, 0));
    const other = await attempt(port, '127.0.0.2', PASSWD, performance.now());
    expect(other.status).toBe(Status.SUCCESS);
    expect(other.ms).toBeLessThan(1000);
    const wrongElsewhere = await attempt(port, '127.0.0.2', 'typo', performance.now());
    expect(wrongElsewhere.status).toBe(Status.PASSWORD);
    expect(wrongElsewhere.ms).toBeLessThan(1000);
    const results = (await Promise.all(guesses)).sort((a, b) => a.ms - b.ms);
    expect(results.every((r) => r.status === Status.PASSWORD)).toBe(true);
    // Before: all six answered within a few ms (~4,300 guesses/s from one client).
    expect((results[5]?.ms ?? 0) - (results[0]?.ms ?? 0)).toBeGreaterThanOrEqual(550);
    // The right password from the attacked address is delayed, not refused.
    const t1 = performance.now();
    const legit = await attempt(port, '127.0.0.1', PASSWD, t1);
    expect(legit.status).toBe(Status.SUCCESS);
    // One warning for the burst, naming the address; each refusal before it logged with the peer.
    const warnings = log.lines.filter((l) => l.level >= WARN);
    expect(warnings.map((l) => [l.msg, l.peer])).toEqual([
      ['repeated wrong passwords: delaying further handshakes from this address', '127.0.0.1'],
    ]);
    const refusals = log.lines.filter((l) => l.msg === 'authentication failed, closing' && l.level === 30);
    expect(refusals.length).toBeGreaterThanOrEqual(4);
    expect(refusals.every((l) => l.peer === '127.0.0.1' || l.peer === '127.0.0.2')).toBe(true);
  });

  it('requests pipelined behind a delayed SERVINFO wait for it and are served in order once it passes', async () => {
    const { port } = await startServer({ passwd: PASSWD, authFreeFailures: 0, authBackoffBase: 300 });
    const t0 = performance.now();
    expect((await attempt(port, '127.0.0.1', 'guess', t0)).status).toBe(Status.PASSWORD);
    const peer = await RawPeer.connect(port);
    await peer.write([
      frame({ type: Type.SERVINFO, seqno: 1 }, JSON.stringify({ passwd: PASSWD })),
      frame({ type: Type.RPC, url: '/echo', seqno: 2 }, '{"n":2}'),
      frame({ type: Type.RPC, url: '/echo', seqno: 3 }, '{"n":3}'),
    ]);
    const third = await peer.packet(3);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(peer.packets.map((p) => [p.type, p.status, p.seqno])).toEqual([
      [Type.SERVINFO, Status.SUCCESS, 1],
      [Type.RPC, Status.SUCCESS, 2],
      [Type.RPC, Status.SUCCESS, 3],
    ]);
    expect(third.param?.toString()).toBe('{"n":3}');
  });

  it('a connection still waiting for its turn at handshakeTimeout is closed', async () => {
    const { log, port } = await startServer({
      passwd: PASSWD,
      authFreeFailures: 0,
      authBackoffBase: 2000,
      handshakeTimeout: 200,
    });
    expect((await attempt(port, '127.0.0.1', 'guess', 0)).status).toBe(Status.PASSWORD);
    const peer = await RawPeer.connect(port);
    const cid = await log.cidOf(peer.localPort);
    await peer.write(frame({ type: Type.SERVINFO }, JSON.stringify({ passwd: PASSWD })));
    const line = await log.waitFor((l) => l.cid === cid && l.msg === 'connection closed');
    expect(line.code).toBe('ERR_VSOA_HANDSHAKE_TIMEOUT');
    expect(peer.packets).toEqual([]);
  });

  it('authBackoffBase 0 turns the throttle off; bad backoff options are refused', async () => {
    const { port } = await startServer({ passwd: PASSWD, authBackoffBase: 0 });
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 8 }, () => attempt(port, '127.0.0.1', 'x', t0)));
    expect(results.every((r) => r.status === Status.PASSWORD && r.ms < 2000)).toBe(true);
    expect(() => new Server({ authBackoffMax: 2 ** 31 })).toThrow(RangeError);
    expect(() => new Server({ authFreeFailures: -1 })).toThrow(/authFreeFailures/);
  });
});
