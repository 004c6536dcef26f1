import dgram from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Packet, ReceivedPayload } from '../../src/protocol/index.js';
import { Flag, Status, Type } from '../../src/protocol/index.js';
import type { RemoteClient } from '../../src/server/remote-client.js';
import { WorkQueue } from '../../src/util/work-queue.js';
import {
  ERROR,
  frame,
  goodClient,
  hex,
  onCleanup,
  RawPeer,
  roundTrip,
  runCleanups,
  startServer,
  WARN,
} from './hostile-helpers.js';

/*
 * Hostile peers against our Server, from raw sockets. Every case checks that only the offender
 * is affected: it is closed (and released, with a log line saying why) or ignored, while our
 * own Client, connected beforehand, is still served afterwards.
 * Hex strings marked "probe" are the lab-raw-probe packets of shared/vectors/probe.json and
 * password.json, with the node reference server's reply where it had one.
 */

afterEach(async () => {
  vi.restoreAllMocks();
  await runCleanups();
});

/** A received packet encoded again, as hex: compares whole replies with captured bytes. */
function wire(p: Packet): string {
  return frame(p, p.param, p.data).toString('hex');
}

/** A 20-byte header with the given fields (nothing after it). */
function header(type: number, urlLen: number, paramLen: number, dataLen: number, byte2 = 0): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x29;
  h[1] = type;
  h[2] = byte2;
  h.writeUInt16BE(urlLen, 10);
  h.writeUInt32BE(paramLen, 12);
  h.writeUInt32BE(dataLen, 16);
  return h;
}

/** Attacks a fresh server from one raw connection; checks the offender is closed and released. */
async function expectOffenderClosed(chunks: Buffer[], code: string): Promise<void> {
  const { server, log, port } = await startServer();
  const good = await goodClient(port);
  const raw = await RawPeer.connect(port);
  const cid = await log.cidOf(raw.localPort);
  for (const chunk of chunks) raw.socket.write(chunk);
  const line = await log.waitFor((l) => l.cid === cid && l.code === code, `${code} line`);
  expect(line.level).toBe(WARN);
  expect(line.msg).toMatch(/^closing connection: /);
  await raw.closed;
  await log.released(cid);
  expect(raw.packets).toEqual([]);
  expect(good.connected).toBe(true);
  expect(await roundTrip(good)).toBe('still served');
  expect(server.count()).toBe(1);
}

describe('malformed TCP frames close only the offending connection', () => {
  const ping = frame({ type: Type.PINGECHO, seqno: 1 });

  it.each([
    ['0x19 (version 1)', 0x19],
    ['0x00', 0x00],
    ['0x92 (nibbles swapped)', 0x92],
  ])('bad magic byte %s', async (_name, magic) => {
    const bad = Buffer.from(ping);
    bad[0] = magic;
    await expectOffenderClosed([bad], 'BAD_MAGIC');
  });

  it('bad magic after a valid packet: the valid one is answered, then the connection is closed', async () => {
    const { log, port } = await startServer();
    const good = await goodClient(port);
    const raw = await RawPeer.connect(port);
    const cid = await log.cidOf(raw.localPort);
    raw.socket.write(Buffer.concat([ping, hex('deadbeef'), ping]));
    await log.waitFor((l) => l.cid === cid && l.code === 'BAD_MAGIC');
    await raw.closed;
    expect(raw.packets.map((p) => [p.type, p.flags, p.seqno])).toEqual([[Type.PINGECHO, Flag.REPLY, 1]]);
    await log.released(cid);
    expect(await roundTrip(good)).toBe('still served');
  });

  it('length fields adding up to 20 + 0x40000 bytes are rejected at the header', async () => {
    // Only the header is sent: the server must not wait for a body it will never accept.
    await expectOffenderClosed([header(Type.RPC, 0, 0, 0x40000)], 'TOO_LARGE');
  });

  it('a u32 length of 0xFFFFFFFF is rejected at the header, split over two chunks, allocating nothing large', async () => {
    const sizes: number[] = [];
    const original = Buffer.allocUnsafe;
    vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
      sizes.push(size);
      return original(size);
    });
    const h = header(Type.RPC, 0xffff, 0xffffffff, 0xffffffff);
    await expectOffenderClosed([h.subarray(0, 11), h.subarray(11)], 'TOO_LARGE');
    expect(Math.max(0, ...sizes)).toBeLessThan(1024 * 1024);
  });

  it.each([
    // An RPC '/echo' is 25 bytes unpadded: pad 3 is right, 1 is not.
    ['pad 1 on a packet needing 3', frame({ type: Type.RPC, url: '/echo', seqno: 2 }), 0x40],
    // A bare header needs no pad.
    ['pad 2 on a 20-byte packet', ping, 0x80],
  ])('inconsistent pad count: %s', async (_name, good, padBits) => {
    const bad = Buffer.from(good);
    bad[2] = ((bad[2] as number) & 0x3f) | padBits;
    await expectOffenderClosed([bad], 'BAD_PAD');
  });
});

describe('handshake timeout', () => {
  it('a connection that never shakes hands is closed after handshakeTimeout; a handshaked one is not', async () => {
    const { server, log, port } = await startServer({ handshakeTimeout: 200 });
    // Connected first, so its own handshake timer has run out by the time the idle one is cut.
    const good = await goodClient(port);
    const idle = await RawPeer.connect(port);
    const cid = await log.cidOf(idle.localPort);
    const line = await log.waitFor((l) => l.cid === cid && l.msg === 'no handshake in time, closing');
    expect(line.peer).toBe('127.0.0.1');
    await idle.closed;
    await log.released(cid);
    expect(idle.packets).toEqual([]);
    expect(good.connected).toBe(true);
    expect(await roundTrip(good)).toBe('still served');
    expect(server.count()).toBe(1);
  });

  it('a frame cut in the middle before any handshake: closed by the handshake timeout, nothing served', async () => {
    const { log, port } = await startServer({ handshakeTimeout: 200 });
    const good = await goodClient(port);
    const raw = await RawPeer.connect(port);
    const cid = await log.cidOf(raw.localPort);
    const rpc = frame({ type: Type.RPC, url: '/echo', seqno: 3 }, '{"x":1}', Buffer.alloc(1000, 7));
    await raw.write(rpc.subarray(0, 500));
    await log.waitFor((l) => l.cid === cid && l.msg === 'no handshake in time, closing');
    await raw.closed;
    await log.released(cid);
    expect(raw.packets).toEqual([]);
    expect(await roundTrip(good)).toBe('still served');
  });

  it('a handshaked peer cut off mid-frame keeps its connection, harmless, and is served when the rest comes', async () => {
    // TCP gives no deadline for the rest of a frame; the peer holds at most one partial packet
    // (bounded by MAX_PACKET_LENGTH), and keepalive is what finds a vanished one.
    const { log, port } = await startServer({ handshakeTimeout: 200 });
    const good = await goodClient(port);
    const raw = await RawPeer.connect(port);
    const cid = await log.cidOf(raw.localPort);
    await raw.handshake();
    const data = Buffer.alloc(3000, 9);
    const rpc = frame({ type: Type.RPC, url: '/echo', seqno: 4 }, '{"x":1}', data);
    await raw.write(rpc.subarray(0, 1500));
    // A later idle connection timing out proves raw's own handshake timer has run out too.
    const idle = await RawPeer.connect(port);
    const idleCid = await log.cidOf(idle.localPort);
    await log.released(idleCid);
    expect(raw.isClosed).toBe(false);
    expect(log.find((l) => l.cid === cid && l.msg === 'connection closed')).toBeUndefined();
    expect(raw.packets).toHaveLength(1); // the SERVINFO reply only
    await raw.write(rpc.subarray(1500));
    const reply = await raw.packet(2);
    expect([reply.type, reply.flags, reply.status, reply.seqno]).toEqual([Type.RPC, Flag.REPLY, 0, 4]);
    expect(reply.param?.toString()).toBe('{"x":1}');
    expect(reply.data).toEqual(data);
    expect(await roundTrip(good)).toBe('still served');
  });
});

describe('password server', () => {
  const PASSWD = 'secret';

  it('an RPC before SERVINFO gets status PASSWORD of the same type, then the connection is closed', async () => {
    const { log, port } = await startServer({ passwd: PASSWD });
    const good = await goodClient(port, PASSWD);
    const raw = await RawPeer.connect(port);
    const cid = await log.cidOf(raw.localPort);
    // probe rpc-before-auth; node server's reply.
    await raw.write(hex('2901c000000000050000000500000000000000002f6563686f000000'));
    const reply = await raw.packet(1);
    expect(wire(reply)).toBe('2901010100000005000000000000000000000000');
    const line = await log.waitFor((l) => l.cid === cid && l.msg === 'authentication failed, closing');
    expect(line.type).toBe(Type.RPC);
    await raw.closed;
    await log.released(cid);
    expect(raw.packets).toHaveLength(1);
    expect(await roundTrip(good)).toBe('still served');
  });

  it('a SUBSCRIBE before SERVINFO is refused and what is pipelined after it (even the right password) is not read', async () => {
    const { server, log, port } = await startServer({ passwd: PASSWD });
    const onclient = vi.fn();
    server.onclient = onclient;
    const good = await goodClient(port, PASSWD);
    expect(onclient).toHaveBeenCalledTimes(1);
    const raw = await RawPeer.connect(port);
    const cid = await log.cidOf(raw.localPort);
    await raw.write([
      frame({ type: Type.SUBSCRIBE, url: '/x', seqno: 7 }),
      frame({ type: Type.SERVINFO, seqno: 8 }, JSON.stringify({ passwd: PASSWD })),
      frame({ type: Type.RPC, url: '/echo', seqno: 9 }),
    ]);
    await raw.closed;
    await log.released(cid);
    expect(raw.packets.map((p) => [p.type, p.flags, p.status, p.seqno])).toEqual([
      [Type.SUBSCRIBE, Flag.REPLY, Status.PASSWORD, 7],
    ]);
    expect(server.isSubscribed('/x')).toBe(false);
    expect(onclient).toHaveBeenCalledTimes(1);
    expect(await roundTrip(good)).toBe('still served');
  });

  it.each([
    [
      'a wrong password (probe servinfo-wrong-password)',
      '2900c000000000000000000000000011000000007b22706173737764223a226e6f7065227d000000',
    ],
    [
      'a number as password (probe servinfo-passwd-number)',
      '2900800000000000000000000000000e000000007b22706173737764223a3132337d0000',
    ],
    ['no param', '2900000000000000000000000000000000000000'],
    ['a param that is not JSON', frame({ type: Type.SERVINFO }, 'secret').toString('hex')],
    ['the password in the url', frame({ type: Type.SERVINFO, url: '/secret' }).toString('hex')],
  ])('%s: SERVINFO status PASSWORD, then closed', async (_name, request) => {
    const { server, log, port } = await startServer({ passwd: PASSWD });
    const good = await goodClient(port, PASSWD);
    const raw = await RawPeer.connect(port);
    const cid = await log.cidOf(raw.localPort);
    await raw.write(hex(request));
    const reply = await raw.packet(1);
    // The node reference server's reply to a wrong password.
    expect(wire(reply)).toBe('2900010100000000000000000000000000000000');
    await log.waitFor((l) => l.cid === cid && l.msg === 'authentication failed, closing');
    await raw.closed;
    await log.released(cid);
    expect(server.count()).toBe(1);
    expect(await roundTrip(good)).toBe('still served');
  });
});

describe('packets a client must not send are ignored: no reply, the connection stays open', () => {
  it('REPLY-flag packets, client PUBLISH and QOSSETUP, unknown type 0x07, NOOP', async () => {
    const { server, log, port } = await startServer();
    const echo = vi.fn();
    server.command('/echo', (cli, req, payload) => {
      echo();
      cli.reply(req.seqno, payload);
    });
    const ondata = vi.fn();
    server.ondata = ondata;
    const good = await goodClient(port);
    const raw = await RawPeer.connect(port);
    const cid = await log.cidOf(raw.localPort);
    await raw.handshake();
    await raw.write([
      hex('29fe000000000009000000000000000000000000'), // probe noop
      hex('290700000000000c000000000000000000000000'), // probe unknown-type-0x07
      hex('290600030000000d000000000000000000000000'), // probe qossetup-from-client
      hex('290400000000000e0000000200000002000000002f707b7d'), // probe publish-from-client
      hex('2901c100000000110000000500000000000000002f6563686f000000'), // probe rpc-with-reply-flag
      frame({ type: Type.DATAGRAM, flags: Flag.REPLY, url: '/d', seqno: 0x12 }),
      frame({ type: Type.SUBSCRIBE, flags: Flag.REPLY, url: '/s', seqno: 0x13 }),
      frame({ type: Type.SERVINFO, flags: Flag.REPLY, seqno: 0x14 }),
      hex('29ff00000000000a000000000000000000000000'), // probe pingecho
    ]);
    // Loopback keeps order: the ping's reply coming next proves nothing before it was answered.
    const reply = await raw.packet(2);
    expect(wire(reply)).toBe('29ff01000000000a000000000000000000000000'); // node server's reply
    expect(raw.isClosed).toBe(false);
    expect(echo).not.toHaveBeenCalled();
    expect(ondata).not.toHaveBeenCalled();
    expect(server.isSubscribed('/s')).toBe(false);
    expect(
      log.lines.filter((l) => l.cid === cid && l.msg === 'ignoring unexpected packet type'),
    ).toHaveLength(3);
    expect(
      log.lines.filter((l) => l.cid === cid && l.msg === 'ignoring a reply packet sent to the server'),
    ).toHaveLength(4);
    expect(log.find((l) => l.level >= WARN)).toBeUndefined();
    expect(server.count()).toBe(2);
    expect(await roundTrip(good)).toBe('still served');
  });
});

describe('bad RPC urls get status ARGUMENTS', () => {
  it.each([
    // probe rpc-url-without-slash / rpc-empty-url, and the node server's replies.
    [
      'no leading slash',
      '290100000000000f0000000400000000000000006563686f',
      '290101020000000f000000000000000000000000',
    ],
    ['empty', '2901000000000010000000000000000000000000', '2901010200000010000000000000000000000000'],
  ])('url %s', async (_name, request, expected) => {
    const { server, port } = await startServer();
    const handler = vi.fn();
    server.command('/', handler); // a catch-all must not see it either
    const good = await goodClient(port);
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    await raw.write(hex(request));
    expect(wire(await raw.packet(2))).toBe(expected);
    expect(handler).not.toHaveBeenCalled();
    expect(raw.isClosed).toBe(false);
    expect(await roundTrip(good)).toBe('still served');
  });
});

describe('malformed SUBSCRIBE / UNSUBSCRIBE get status ARGUMENTS and subscribe nothing', () => {
  const cases: Array<[string, Buffer]> = [
    ['subscribe, no url no param (probe)', hex('2902000000000016000000000000000000000000')],
    ['subscribe, url without / (probe)', hex('290240000000001700000003000000000000000061626300')],
    [
      'subscribe, list with an invalid entry ["x","/y"] (probe)',
      hex('2902800000000018000000000000000a000000005b2278222c222f79225d0000'),
    ],
    ['subscribe, empty list (probe)', hex('29028000000000190000000000000002000000005b5d0000')],
    ['subscribe, param not JSON', frame({ type: Type.SUBSCRIBE, seqno: 0x20 }, '["/y"')],
    ['subscribe, param a JSON string', frame({ type: Type.SUBSCRIBE, seqno: 0x21 }, '"/y"')],
    ['subscribe, list with a number', frame({ type: Type.SUBSCRIBE, seqno: 0x22 }, '["/y",1]')],
    ['subscribe, list with an empty url', frame({ type: Type.SUBSCRIBE, seqno: 0x23 }, '["/y",""]')],
    ['subscribe, param not UTF-8', frame({ type: Type.SUBSCRIBE, seqno: 0x24 }, hex('5b22ff225d'))],
    ['unsubscribe, no url no param (probe)', hex('290300000000001b000000000000000000000000')],
    ['unsubscribe, url without / (probe)', hex('290340000000001c00000003000000000000000061626300')],
    ['unsubscribe, empty list', frame({ type: Type.UNSUBSCRIBE, seqno: 0x25 }, '[]')],
  ];

  it.each(cases)('%s', async (_name, request) => {
    const { server, port } = await startServer();
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    const cli = server.clients()[0] as RemoteClient;
    const good = await goodClient(port);
    const onsubscribe = vi.fn();
    const onunsubscribe = vi.fn();
    cli.onsubscribe = onsubscribe;
    cli.onunsubscribe = onunsubscribe;
    // Subscribed to /y and /keep first: a malformed UNSUBSCRIBE must not clear them.
    await raw.write(frame({ type: Type.SUBSCRIBE, seqno: 1 }, '["/y","/keep"]'));
    expect((await raw.packet(2)).status).toBe(0);
    onsubscribe.mockClear();
    await raw.write(frame({ type: Type.UNSUBSCRIBE, url: '/y', seqno: 2 }));
    expect((await raw.packet(3)).status).toBe(0);
    onunsubscribe.mockClear();

    await raw.write(request);
    const reply = await raw.packet(4);
    expect([reply.type, reply.flags, reply.status, reply.seqno]).toEqual([
      request[1],
      Flag.REPLY,
      Status.ARGUMENTS,
      request.readUInt32BE(4),
    ]);
    for (const url of ['/y', '/x', '/abc', '/', '/z']) expect(server.isSubscribed(url)).toBe(false);
    expect(cli.isSubscribed('/keep')).toBe(true);
    expect(onsubscribe).not.toHaveBeenCalled();
    expect(onunsubscribe).not.toHaveBeenCalled();
    expect(raw.isClosed).toBe(false);
    expect(await roundTrip(good)).toBe('still served');
  });

  it('url plus a list: the url is used, the list ignored (probe subscribe-list-with-url)', async () => {
    const { server, port } = await startServer();
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    const cli = server.clients()[0] as RemoteClient;
    const onsubscribe = vi.fn();
    cli.onsubscribe = onsubscribe;
    await raw.write(hex('290200000000001a0000000200000006000000002f755b222f76225d'));
    expect(wire(await raw.packet(2))).toBe('290201000000001a000000000000000000000000');
    expect(server.isSubscribed('/u')).toBe(true);
    expect(server.isSubscribed('/v')).toBe(false);
    expect(onsubscribe).toHaveBeenCalledWith(cli, '/u');
  });
});

describe('failing command handlers', () => {
  it.each([
    ['throws synchronously', 'sync'],
    ['rejects', 'async'],
    ['throws on a work queue', 'wq'],
  ])(
    'a handler that %s before replying: status NO_RESPONDING, an error logged, the server keeps serving',
    async (_name, kind) => {
      const { server, log, port } = await startServer();
      const boom = new Error(`boom ${kind}`);
      if (kind === 'sync')
        server.command('/fail', () => {
          throw boom;
        });
      else if (kind === 'async')
        server.command('/fail', async () => {
          await Promise.resolve();
          throw boom;
        });
      else
        server.command(
          '/fail',
          () => {
            throw boom;
          },
          { wq: new WorkQueue() },
        );
      const client = await goodClient(port);
      const { header, payload } = await client.fetch('/fail', { timeout: 5000 });
      expect(header.status).toBe(Status.NO_RESPONDING);
      expect(payload).toEqual({});
      const line = await log.waitFor((l) => l.msg === 'command handler failed');
      expect(line.level).toBe(ERROR);
      expect(line.url).toBe('/fail');
      expect((line.err as { message: string }).message).toBe(`boom ${kind}`);
      expect(client.connected).toBe(true);
      expect(await roundTrip(client)).toBe('still served');
    },
  );

  it.each([
    ['sync', false],
    ['async', true],
  ])('a %s handler that replies, then fails, sends one reply only', async (_name, async) => {
    const { server, log, port } = await startServer();
    server.command('/reply-then-fail', (cli, req) => {
      cli.reply(req.seqno, { param: 'ok' });
      if (async) return Promise.reject(new Error('late'));
      throw new Error('late');
    });
    const raw = await RawPeer.connect(port);
    await raw.handshake();
    await raw.write(frame({ type: Type.RPC, url: '/reply-then-fail', seqno: 5 }));
    await log.waitFor((l) => l.msg === 'command handler failed');
    await raw.write(frame({ type: Type.PINGECHO, seqno: 6 }));
    const first = await raw.packet(2);
    expect([first.type, first.status, first.seqno, first.param?.toString()]).toEqual([
      Type.RPC,
      0,
      5,
      '"ok"',
    ]);
    const second = await raw.packet(3);
    expect([second.type, second.seqno]).toEqual([Type.PINGECHO, 6]);
  });
});

describe('application callbacks that throw do not break the connection', () => {
  it('onclient', async () => {
    const { server, log, port } = await startServer();
    server.onclient = () => {
      throw new Error('app bug');
    };
    const client = await goodClient(port);
    const line = await log.waitFor((l) => l.msg === 'onclient callback threw');
    expect(line.level).toBe(ERROR);
    expect(await roundTrip(client)).toBe('still served');
    expect(server.count()).toBe(1);
  });

  it('ondata (TCP and quick datagrams)', async () => {
    const { server, log, port } = await startServer();
    const seen: Array<[string, boolean]> = [];
    server.ondata = (_cli, url, _payload: ReceivedPayload, quick) => {
      seen.push([url, quick]);
      throw new Error('app bug');
    };
    const client = await goodClient(port);
    expect(client.datagram('/d', { param: 1 })).toBe(true);
    await log.waitFor((l) => l.msg === 'ondata callback threw');
    expect(client.datagram('/q', { param: 2 }, true)).toBe(true);
    await log.waitFor((l) => l.msg === 'ondata callback threw' && seen.length === 2);
    expect(seen).toEqual([
      ['/d', false],
      ['/q', true],
    ]);
    expect(await roundTrip(client)).toBe('still served');
  });

  it('onsubscribe: the subscription still holds and publishes arrive', async () => {
    const { server, log, port } = await startServer();
    server.onclient = (cli, connected) => {
      if (connected)
        cli.onsubscribe = () => {
          throw new Error('app bug');
        };
    };
    const client = await goodClient(port);
    const subscribed = await new Promise<boolean>((resolve) =>
      client.subscribe('/t', (_c, ok) => resolve(ok)),
    );
    expect(subscribed).toBe(true);
    await log.waitFor((l) => l.msg === 'onsubscribe callback threw');
    expect(server.isSubscribed('/t')).toBe(true);
    const got = new Promise<unknown>((resolve) => {
      client.onmessage = (_c, url, payload) => resolve([url, payload.param]);
    });
    expect(server.publish('/t', { param: 'hello' })).toBe(true);
    expect(await got).toEqual(['/t', 'hello']);
    expect(await roundTrip(client)).toBe('still served');
  });
});

describe('garbage on the UDP port is dropped', () => {
  function udpSocket(address: string, port = 0): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket('udp4');
      onCleanup(() => new Promise<void>((done) => sock.close(() => done())));
      sock.once('error', reject);
      sock.bind(port, address, () => {
        sock.off('error', reject);
        resolve(sock);
      });
    });
  }

  function send(sock: dgram.Socket, bytes: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) =>
      sock.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  }

  it('random bytes, a truncated header, an RPC, unknown and spoofed client ids: ondata never called', async () => {
    const { server, log, port } = await startServer();
    const calls: Array<[number, string, unknown, boolean]> = [];
    let heardBoth: () => void = () => {};
    const heard = new Promise<void>((resolve) => {
      heardBoth = resolve;
    });
    server.ondata = (cli, url, payload, quick) => {
      calls.push([cli.id, url, payload.param, quick]);
      if (calls.length === 2) heardBoth();
    };
    const good = await goodClient(port);
    const goodId = good.id as number;

    // A raw client whose quick address (tunid) is a UDP port we hold on 127.0.0.2 and 127.0.0.1.
    const other = await udpSocket('127.0.0.2');
    const quickPort = other.address().port;
    const own = await udpSocket('127.0.0.1', quickPort);
    const raw = await RawPeer.connect(port);
    const rawId = await raw.handshake(undefined, quickPort);

    const stranger = await udpSocket('127.0.0.1');
    const dgramFor = (cid: number, url: string): Buffer =>
      frame({ type: Type.DATAGRAM, url, seqno: cid }, JSON.stringify(url));
    const random = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 151 + 0xa5) & 0xff));
    const dropped = (code: string) => (l: { msg: string; code?: string }) =>
      l.msg === 'dropped bad quick datagram' && l.code === code;
    const unattributable = (cid: number) => (l: { msg: string; cid?: number }) =>
      l.msg === 'dropping unattributable quick datagram' && l.cid === cid;

    await send(stranger, random, port);
    await log.waitFor(dropped('BAD_MAGIC'), 'random bytes dropped');
    await send(stranger, dgramFor(goodId, '/trunc').subarray(0, 12), port);
    await log.waitFor(dropped('TRUNCATED'), 'truncated header dropped');
    await send(stranger, dgramFor(goodId, '/cut').subarray(0, 24), port);
    await log.waitFor((l) => dropped('TRUNCATED')(l) && log.lines.filter(dropped('TRUNCATED')).length === 2);
    // probe quick-rpc-over-udp, then an RPC carrying a real client id.
    await send(stranger, hex('2901c000000000000000000500000000000000002f6563686f000000'), port);
    await send(own, frame({ type: Type.RPC, url: '/echo', seqno: rawId }), port);
    await log.waitFor(
      (l) => l.msg === 'dropping quick packet that is not a DATAGRAM' && l.port === quickPort,
      'quick RPC dropped',
    );
    // probe quick-datagram-unknown-cid (client id 999).
    await send(stranger, hex('29058000000003e70000000800000002000000002f712f626f6775737b7d0000'), port);
    await log.waitFor(unattributable(999), 'unknown cid dropped');
    // Real ids from the wrong port, then from the wrong address on the right port.
    await send(stranger, dgramFor(goodId, '/wrong-port'), port);
    await log.waitFor(unattributable(goodId), 'good id from another port dropped');
    await send(other, dgramFor(rawId, '/wrong-addr'), port);
    await log.waitFor(unattributable(rawId), 'raw id from another address dropped');
    // A REPLY-flagged datagram from the right sender is dropped too.
    await send(own, frame({ type: Type.DATAGRAM, flags: Flag.REPLY, url: '/reply', seqno: rawId }), port);
    await log.waitFor(
      (l) => l.msg === 'dropping quick packet that is not a DATAGRAM' && l.type === Type.DATAGRAM,
      'reply datagram dropped',
    );
    expect(calls).toEqual([]);

    // Controls: the same senders, rightly attributed, are heard; nobody was disconnected.
    await send(own, dgramFor(rawId, '/right'), port);
    expect(good.datagram('/good', { param: '/good' }, true)).toBe(true);
    await heard;
    expect(calls).toEqual(
      expect.arrayContaining([
        [rawId, '/right', '/right', true],
        [goodId, '/good', '/good', true],
      ]),
    );
    expect(raw.isClosed).toBe(false);
    expect(server.count()).toBe(2);
    expect(await roundTrip(good)).toBe('still served');
    expect(log.find((l) => l.level >= WARN)).toBeUndefined();
  });
});
