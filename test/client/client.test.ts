import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { Client, ConnectCode, fetch, type Header, Method, VsoaError } from '../../src/index.js';
import { encodeFrame, type Packet, StreamDecoder, Type } from '../../src/protocol/index.js';
import { collector, connectClient, deferred, memoryLogger, onCleanup, startServer } from '../helpers/net.js';

/** A raw TCP server on 127.0.0.1 that hands each connection and its decoded packets to `onConn`. */
async function rawServer(
  onConn: (socket: net.Socket, packets: Packet[], next: () => Promise<Packet>) => void,
) {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const packets: Packet[] = [];
    const waiters: Array<(p: Packet) => void> = [];
    const decoder = new StreamDecoder((p) => {
      const w = waiters.shift();
      if (w) w(p);
      else packets.push(p);
    });
    socket.on('data', (chunk) => decoder.push(chunk));
    const next = () => {
      const p = packets.shift();
      return p ? Promise.resolve(p) : new Promise<Packet>((r) => waiters.push(r));
    };
    onConn(socket, packets, next);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  onCleanup(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port };
}

function servInfoReply(seqno: number, cid: number, info = '"raw"'): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(cid);
  return Buffer.concat(encodeFrame({ type: Type.SERVINFO, flags: 1, seqno }, info, id));
}

describe('Client: connect', () => {
  it('reports CONNECT_ERROR when refused and SERVER_NO_RESPONDING when nobody answers', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const freePort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const client = new Client();
    onCleanup(() => client.close());
    expect(await client.connect(`vsoa://127.0.0.1:${freePort}`)).toBe(ConnectCode.ERROR);
    const { port } = await rawServer(() => {});
    const started = Date.now();
    expect(await client.connect(`vsoa://127.0.0.1:${port}`, { timeout: 150 })).toBe(
      ConnectCode.SERVER_NO_RESPONDING,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(client.connected).toBe(false);
  });

  it('sends SERVINFO with seqno 0, TUNNEL and its UDP port, and the password as param', async () => {
    const seen = deferred<Packet>();
    const { port } = await rawServer(async (socket, _p, next) => {
      const p = await next();
      seen.resolve(p);
      socket.write(servInfoReply(p.seqno, 9));
    });
    const client = new Client();
    onCleanup(() => client.close());
    expect(await client.connect(`vsoa://127.0.0.1:${port}`, { passwd: 'pw' })).toBe(ConnectCode.OK);
    const p = await seen.promise;
    expect(p).toMatchObject({ type: Type.SERVINFO, flags: 2, seqno: 0 });
    expect(p.tunid).toBeGreaterThan(0);
    expect(JSON.parse(String(p.param))).toEqual({ passwd: 'pw' });
    expect(client.id).toBe(9);
  });

  it('parses a handshake reply split byte by byte, or coalesced with a publish', async () => {
    const { port } = await rawServer(async (socket, _p, next) => {
      const p = await next();
      const reply = servInfoReply(p.seqno, 3, '{"split":true}');
      for (const byte of reply) socket.write(Buffer.from([byte]));
    });
    const split = new Client();
    onCleanup(() => split.close());
    const info = deferred<unknown>();
    split.onconnect = (_c, ok, i) => ok && info.resolve(i);
    expect(await split.connect(`vsoa://127.0.0.1:${port}`)).toBe(ConnectCode.OK);
    expect(await info.promise).toEqual({ split: true });

    const { port: port2 } = await rawServer(async (socket, _p, next) => {
      const p = await next();
      socket.write(
        Buffer.concat([
          servInfoReply(p.seqno, 4),
          ...encodeFrame({ type: Type.PUBLISH, url: '/early' }, '1'),
        ]),
      );
    });
    const coalesced = new Client();
    onCleanup(() => coalesced.close());
    const msg = deferred<string>();
    coalesced.onmessage = (_c, url) => msg.resolve(url);
    expect(await coalesced.connect(`vsoa://127.0.0.1:${port2}`)).toBe(ConnectCode.OK);
    expect(await msg.promise).toBe('/early');
  });

  it('reports INVALID_RESPONDING for a reply that is not a handshake, and a server that closes', async () => {
    const { port } = await rawServer(async (socket, _p, next) => {
      const p = await next();
      socket.write(Buffer.concat(encodeFrame({ type: Type.SERVINFO, flags: 1, seqno: p.seqno, status: 2 })));
    });
    const client = new Client();
    onCleanup(() => client.close());
    expect(await client.connect(`vsoa://127.0.0.1:${port}`)).toBe(ConnectCode.INVALID_RESPONDING);
    const { port: closing } = await rawServer((socket) => socket.destroy());
    expect(await client.connect(`vsoa://127.0.0.1:${closing}`)).toBe(ConnectCode.INVALID_RESPONDING);
  });

  it('honours a 6-byte SERVINFO reply: quick datagrams go to the port it names', async () => {
    const dgram = await import('node:dgram');
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    onCleanup(() => udp.close());
    const quickPort = udp.address().port;
    const { port } = await rawServer(async (socket, _p, next) => {
      const p = await next();
      const data = Buffer.alloc(6);
      data.writeUInt32BE(5, 0);
      data.writeUInt16BE(quickPort, 4);
      socket.write(Buffer.concat(encodeFrame({ type: Type.SERVINFO, flags: 1, seqno: p.seqno }, '{}', data)));
    });
    const got = deferred<Buffer>();
    udp.on('message', (m) => got.resolve(m));
    const client = await connectClient(`vsoa://127.0.0.1:${port}`);
    expect(client.datagram('/q', { param: 1 }, true)).toBe(true);
    const m = await got.promise;
    expect(m[1]).toBe(Type.DATAGRAM);
    expect(m.readUInt32BE(4)).toBe(5);
  });

  it('rejects malformed urls and options with TypeError/RangeError', async () => {
    const client = new Client();
    await expect(client.connect('http://1.2.3.4:5')).rejects.toThrow(TypeError);
    await expect(client.connect('vsoa://1.2.3.4')).rejects.toThrow(/port/);
    await expect(client.connect('vsoa://1.2.3.4:99999')).rejects.toThrow(RangeError);
    await expect(client.connect('vsoa://1.2.3.4:5', { timeout: -1 })).rejects.toThrow(RangeError);
    expect(() => client.call('noslash')).toThrow(TypeError);
    expect(() => client.call('/x', { method: 7 })).toThrow(TypeError);
    expect(() => client.subscribe([])).toThrow(TypeError);
    expect(() => client.subscribe(['/ok', 'bad'])).toThrow(/url\[1\]/);
    expect(() => client.ping('x' as never)).toThrow(TypeError);
  });
});

describe('Client: requests', () => {
  it('returns false (and calls nothing) when not connected; fetch rejects with a VsoaError', async () => {
    const client = new Client();
    const cb = vi.fn();
    expect(client.call('/x', {}, cb)).toBe(false);
    expect(client.ping(cb)).toBe(false);
    expect(client.datagram('/x')).toBe(false);
    expect(cb).not.toHaveBeenCalled();
    const error = await client.fetch('/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VsoaError);
    expect((error as VsoaError).code).toBe('ERR_VSOA_NOT_CONNECTED');
    expect((error as Error).message).toMatch(/not connected/);
  });

  it('a call callback that throws is logged; the connection and the next call carry on', async () => {
    const { server, url } = await startServer();
    server.command('/echo', (cli, request, payload) => cli.reply(request.seqno, payload));
    const { logger, lines } = memoryLogger();
    const client = new Client({ logger });
    onCleanup(() => client.close());
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    const thrown = deferred<void>();
    client.call('/echo', {}, () => {
      thrown.resolve();
      throw new Error('app bug');
    });
    await thrown.promise;
    const { header } = await client.fetch('/echo', { payload: { param: { n: 1 } } });
    expect(header.status).toBe(0);
    expect(client.connected).toBe(true);
    const logged = lines().filter((l) => l.msg === 'reply callback threw');
    expect(logged).toHaveLength(1);
    expect(logged[0]?.level).toBe(50);
  });

  it('calls each callback exactly once: on timeout with nulls, and on connection loss', async () => {
    const { server, url } = await startServer();
    server.command('/never', () => {});
    const client = await connectClient(url);
    const timedOut = deferred<[Header | null, unknown]>();
    const cb = vi.fn((_c: Client, h: Header | null, p: unknown) => timedOut.resolve([h, p]));
    expect(client.call('/never', { timeout: 50 }, cb)).toBe(true);
    expect(await timedOut.promise).toEqual([null, null]);
    const fetchError = await client.fetch('/never', { timeout: 30 }).catch((e: unknown) => e);
    expect((fetchError as VsoaError).code).toBe('ERR_VSOA_TIMEOUT');

    const lost = collector<string>(3);
    client.call('/never', {}, (_c, h) => lost.push(`call ${h}`));
    client.ping((_c, ok) => lost.push(`ping ${ok}`));
    client.subscribe('/never', (_c, ok) => lost.push(`sub ${ok}`));
    const fetching = client.fetch('/never').catch((e: VsoaError) => e);
    expect(client.pendings).toBe(4);
    await server.close();
    expect((await lost.done).sort()).toEqual(['call null', 'ping false', 'sub false']);
    expect(((await fetching) as VsoaError).message).toMatch(/connection lost/);
    expect(client.pendings).toBe(0);
    expect(cb).toHaveBeenCalledTimes(1);
  });

  it('uses seqnos 1.. for requests with a reply and n << 16 for fire-and-forget', async () => {
    const seqnos = collector<[number, number]>(4);
    const { port } = await rawServer(async (socket, _p, next) => {
      const hello = await next();
      socket.write(servInfoReply(hello.seqno, 0));
      for (;;) {
        const p = await next();
        seqnos.push([p.type, p.seqno]);
      }
    });
    const client = await connectClient(`vsoa://127.0.0.1:${port}`);
    client.call('/a', {}, () => {});
    client.call('/b');
    client.ping(() => {});
    client.ping();
    expect(await seqnos.done).toEqual([
      [Type.RPC, 1],
      [Type.RPC, 0x10000],
      [Type.PINGECHO, 2],
      [Type.NOOP, 0x20000],
    ]);
  });

  it('pings, and fetches with method SET', async () => {
    const { server, url } = await startServer();
    server.command('/m', (cli, req) => cli.reply(req.seqno, { param: req.method }));
    const client = await connectClient(url);
    const pong = deferred<boolean>();
    expect(client.ping((_c, ok) => pong.resolve(ok))).toBe(true);
    expect(await pong.promise).toBe(true);
    expect((await client.fetch('/m', { method: 'SET' })).payload.param).toBe(Method.SET);
    expect((await client.fetch('/m')).payload.param).toBe(Method.GET);
  });

  it('throws a RangeError before sending a request that does not fit the packet limit', async () => {
    const { server, url } = await startServer();
    server.command('/echo', (cli, req, p) => cli.reply(req.seqno, p));
    const client = await connectClient(url);
    expect(() => client.call('/echo', { payload: { data: Buffer.alloc(262120) } }, () => {})).toThrow(
      RangeError,
    );
    expect(client.pendings).toBe(0);
    const big = Buffer.alloc(262119, 7);
    const r = await client.fetch('/echo', { payload: { data: big } });
    expect(r.payload.data?.equals(big)).toBe(true);
  });

  it('refuses requests (false) when its own send queue is full, keeping the connection', async () => {
    const { server, url } = await startServer();
    server.command('/echo', (cli, req, p) => cli.reply(req.seqno, p));
    const client = await connectClient(url);
    const big = { data: Buffer.alloc(262119, 1) };
    const replies: Array<Promise<unknown>> = [];
    let refused = 0;
    for (let i = 0; i < 64; i++) {
      const done = deferred();
      if (client.call('/echo', { payload: big }, () => done.resolve())) replies.push(done.promise);
      else refused++;
    }
    expect(refused).toBeGreaterThan(0);
    await expect(client.fetch('/echo', { payload: big })).rejects.toThrow(/send queue is full/);
    await Promise.all(replies);
    expect(client.connected).toBe(true);
    expect((await client.fetch('/echo', { payload: big })).payload.data?.length).toBe(262119);
  });

  it('run() resolves when the connection ends; disconnect() reports the loss once', async () => {
    const { url } = await startServer();
    const client = await connectClient(url);
    const states: boolean[] = [];
    client.onconnect = (_c, connected) => states.push(connected);
    const running = client.run();
    client.disconnect();
    client.disconnect();
    await running;
    expect(states).toEqual([false]);
    expect(client.connected).toBe(false);
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    expect(states).toEqual([false, true]);
  });
});

describe('fetch (one-shot)', () => {
  it('connects, calls once and closes', async () => {
    const { server, port } = await startServer({ passwd: 'pw' });
    server.command('/echo', (cli, req, p) => cli.reply(req.seqno, p));
    const seen = collector<boolean>(2);
    server.onclient = (_c, connected) => seen.push(connected);
    const r = await fetch(`vsoa://127.0.0.1:${port}/echo`, { passwd: 'pw', payload: { param: 'hi' } });
    expect(r.payload.param).toBe('hi');
    expect(await seen.done).toEqual([true, false]);
    const bad = await fetch(`vsoa://127.0.0.1:${port}/echo`, { passwd: 'x' }).catch((e: VsoaError) => e);
    expect((bad as VsoaError).connectCode).toBe(ConnectCode.INVALID_PASSWD);
  });
});
