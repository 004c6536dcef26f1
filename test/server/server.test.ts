import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { Client, ConnectCode, Method, type RemoteClient, Server, Status } from '../../src/index.js';
import { encodeFrame, StreamDecoder, Type } from '../../src/protocol/index.js';
import { WorkQueue } from '../../src/util/work-queue.js';
import { collector, connectClient, deferred, onCleanup, startServer, until } from '../helpers/net.js';

describe('Server: handshake and clients', () => {
  it('gives ids from 0, never two live clients with one id, and reports each client once each way', async () => {
    const { server, url } = await startServer({ info: { name: 'test' } });
    const events: Array<[number, boolean]> = [];
    server.onclient = (cli, connected) => events.push([cli.id, connected]);
    const a = await connectClient(url);
    const b = await connectClient(url);
    expect([a.id, b.id]).toEqual([0, 1]);
    expect(server.count()).toBe(2);
    const gone = deferred();
    server.onclient = (cli, connected) => {
      events.push([cli.id, connected]);
      if (!connected) gone.resolve();
    };
    a.close();
    await gone.promise;
    const c = await connectClient(url);
    expect(c.id).toBe(2);
    expect(events).toEqual([
      [0, true],
      [1, true],
      [0, false],
      [2, true],
    ]);
    expect(server.clients().map((cli) => cli.id)).toEqual([1, 2]);
  });

  it('sends its info (object or string) to the client', async () => {
    for (const info of [{ name: 'obj', n: 1 }, 'plain string info']) {
      const { url } = await startServer({ info });
      const client = new Client();
      onCleanup(() => client.close());
      const got = deferred<unknown>();
      client.onconnect = (_c, connected, i) => connected && got.resolve(i);
      expect(await client.connect(url)).toBe(ConnectCode.OK);
      expect(await got.promise).toEqual(info);
    }
  });

  it('checks the password: right one connects, wrong or missing gets INVALID_PASSWD', async () => {
    const { server, url } = await startServer({ passwd: 'secret' });
    const seen = vi.fn();
    server.onclient = seen;
    const bad = new Client();
    onCleanup(() => bad.close());
    expect(await bad.connect(url, { passwd: 'nope' })).toBe(ConnectCode.INVALID_PASSWD);
    expect(await bad.connect(url)).toBe(ConnectCode.INVALID_PASSWD);
    expect(seen).not.toHaveBeenCalled();
    const good = await connectClient(url, 'secret');
    expect(good.connected).toBe(true);
    server.passwd('other');
    expect(await new Client().connect(url, { passwd: 'secret' })).toBe(ConnectCode.INVALID_PASSWD);
  });

  it('closes a connection that completes no handshake in time', async () => {
    const { port } = await startServer({ handshakeTimeout: 100 });
    const socket = net.connect(port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    const closed = deferred();
    socket.on('close', () => closed.resolve());
    socket.on('error', () => {});
    await closed.promise;
  });

  it('close() ends every client and resolves when all sockets are closed', async () => {
    const server = new Server();
    await server.listen(0, '127.0.0.1');
    const url = `vsoa://127.0.0.1:${server.address().port}`;
    const clients = await Promise.all([connectClient(url), connectClient(url), connectClient(url)]);
    const ended = Promise.all(clients.map((c) => c.run()));
    await server.close();
    await ended;
    expect(clients.every((c) => !c.connected)).toBe(true);
    expect(() => server.address()).toThrow(/not listening/);
    expect(server.publish('/x')).toBe(false);
  });

  it('cli.close() ends gracefully, and destroys a peer that ignores the FIN', async () => {
    const { server, port } = await startServer();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    onCleanup(() => socket.destroy());
    socket.on('error', () => {});
    const connected = deferred<RemoteClient>();
    const dropped = deferred();
    server.onclient = (cli, up) => (up ? connected.resolve(cli) : dropped.resolve());
    for (const b of encodeFrame({ type: Type.SERVINFO })) socket.write(b);
    const cli = await connected.promise;
    const gotEnd = deferred();
    socket.on('end', () => gotEnd.resolve());
    socket.resume();
    cli.close();
    await gotEnd.promise;
    expect(cli.isClosed()).toBe(false);
    await dropped.promise;
    expect(cli.isClosed()).toBe(true);
  });

  it('run() resolves once the server is closed', async () => {
    const server = new Server();
    const running = server.run('127.0.0.1', 0);
    await until(() => {
      try {
        server.address();
        return true;
      } catch {
        return false;
      }
    });
    await server.close();
    await running;
  });

  it('binds TCP and UDP on the same port', async () => {
    const { server, port } = await startServer();
    expect(server.quick?.port).toBe(port);
  });

  it('rejects bad arguments with clear errors', async () => {
    const server = new Server();
    expect(() => server.command('nope', () => {})).toThrow(TypeError);
    expect(() => server.command('/x', 'nope' as never)).toThrow(/handler/);
    await expect(server.listen(70000, '127.0.0.1')).rejects.toThrow(RangeError);
    await expect(server.listen(0, 'not-an-ip')).rejects.toThrow(TypeError);
    expect(() => new Server({ sendTimeout: -1 })).toThrow(/sendTimeout/);
    expect(() => new Server({ passwd: 5 as never })).toThrow(/passwd/);
    expect(() => server.publish('no-slash')).toThrow(TypeError);
  });
});

describe('Server: commands', () => {
  it('routes exact, then the longest prefix ending in /, then /', async () => {
    const { server, url } = await startServer();
    for (const key of ['/', '/a/', '/a/b/', '/exact']) {
      server.command(key, (cli, req) => cli.reply(req.seqno, { param: { key, url: req.url } }));
    }
    const client = await connectClient(url);
    const route = async (u: string) => (await client.fetch(u)).payload.param as { key: string };
    expect((await route('/exact')).key).toBe('/exact');
    expect((await route('/a')).key).toBe('/a/');
    expect((await route('/a/x')).key).toBe('/a/');
    expect((await route('/a/b')).key).toBe('/a/b/');
    expect((await route('/a/b/c/d')).key).toBe('/a/b/');
    expect((await route('/ab')).key).toBe('/');
    expect((await route('/exact/more')).key).toBe('/');
  });

  it('answers status 3 for an unknown url', async () => {
    const { server, url } = await startServer();
    server.command('/known', (cli, req) => cli.reply(req.seqno));
    const client = await connectClient(url);
    expect((await client.fetch('/unknown')).header.status).toBe(Status.INVALID_URL);
  });

  it('passes method, param and data, and replies later with any status and a tunid', async () => {
    const { server, url } = await startServer();
    server.command('/later', (cli, req, payload) => {
      setTimeout(
        () => cli.reply(req.seqno, { param: { method: req.method, got: payload.param } }, 201, 4242),
        5,
      );
    });
    server.command('/async', async (cli, req, payload) => {
      await new Promise((r) => setImmediate(r));
      cli.reply(req.seqno, { data: payload.data }, 255);
    });
    const client = await connectClient(url);
    const r1 = await client.fetch('/later', { method: Method.SET, payload: { param: [1, 'two'] } });
    expect(r1.header).toMatchObject({ status: 201, tunid: 4242 });
    expect(r1.payload.param).toEqual({ method: Method.SET, got: [1, 'two'] });
    const r2 = await client.fetch('/async', { payload: { data: Buffer.from([1, 2, 3]) } });
    expect(r2.header.status).toBe(255);
    expect(r2.payload.data).toEqual(Buffer.from([1, 2, 3]));
    expect(r2.payload.param).toBeUndefined();
  });

  it('runs a command with a work queue on that queue, in order, never inside the socket callback', async () => {
    const { server, url } = await startServer();
    const wq = new WorkQueue();
    const order: string[] = [];
    server.command(
      '/wq',
      (cli, req, payload) => {
        order.push(`run ${String(payload.param)}`);
        cli.reply(req.seqno, payload);
      },
      { wq },
    );
    const client = await connectClient(url);
    const replies = await Promise.all([1, 2, 3].map((n) => client.fetch('/wq', { payload: { param: n } })));
    expect(replies.map((r) => r.payload.param)).toEqual([1, 2, 3]);
    expect(order).toEqual(['run 1', 'run 2', 'run 3']);
  });

  it('hands params over as bytes in raw mode', async () => {
    const { server, url } = await startServer({ raw: true });
    const seen = deferred<unknown>();
    server.command('/raw', (cli, req, payload) => {
      seen.resolve(payload.param);
      cli.reply(req.seqno);
    });
    const client = await connectClient(url);
    await client.fetch('/raw', { payload: { param: { a: 1 } } });
    expect(await seen.promise).toEqual(Buffer.from('{"a":1}'));
  });

  it('validates reply arguments', async () => {
    const { server, url } = await startServer();
    const errors = deferred<unknown[]>();
    server.command('/bad', (cli, req) => {
      const caught: unknown[] = [];
      for (const f of [
        () => cli.reply(req.seqno, null, 256),
        () => cli.reply(req.seqno, null, 0, 70000),
        () => cli.reply(-1),
        () => cli.reply(req.seqno, { data: 'str' as never }),
      ]) {
        try {
          f();
        } catch (error) {
          caught.push(error);
        }
      }
      errors.resolve(caught);
      cli.reply(req.seqno);
    });
    const client = await connectClient(url);
    await client.fetch('/bad');
    const caught = await errors.promise;
    expect(caught.map((e) => (e as Error).constructor.name)).toEqual([
      'RangeError',
      'RangeError',
      'RangeError',
      'TypeError',
    ]);
  });
});

describe('Server: subscriptions and publish', () => {
  it('reports exactly the urls added and removed, for single urls and lists', async () => {
    const { server, url } = await startServer();
    const log: Array<[string, unknown]> = [];
    const cliReady = deferred<RemoteClient>();
    server.onclient = (cli, connected) => {
      if (!connected) return;
      cli.onsubscribe = (_c, u) => log.push(['sub', u]);
      cli.onunsubscribe = (_c, u) => log.push(['unsub', u]);
      cliReady.resolve(cli);
    };
    const client = await connectClient(url);
    const cli = await cliReady.promise;
    const ok = (fn: (cb: (c: Client, success: boolean) => void) => boolean) => {
      const d = deferred<boolean>();
      expect(fn((_c, success) => d.resolve(success))).toBe(true);
      return d.promise;
    };
    expect(await ok((cb) => client.subscribe('/a', cb))).toBe(true);
    expect(await ok((cb) => client.subscribe(['/a', '/b/', '/c'], cb))).toBe(true);
    expect(await ok((cb) => client.subscribe('/a', cb))).toBe(true);
    expect(cli.isSubscribed('/b/x')).toBe(true);
    expect(server.isSubscribed('/c')).toBe(true);
    expect(await ok((cb) => client.unsubscribe(['/a', '/zzz'], cb))).toBe(true);
    expect(await ok((cb) => client.unsubscribe('/c', cb))).toBe(true);
    expect(server.isSubscribed('/a')).toBe(false);
    expect(log).toEqual([
      ['sub', '/a'],
      ['sub', ['/b/', '/c']],
      ['unsub', ['/a']],
      ['unsub', '/c'],
    ]);
  });

  it('publishes by the matching rule, normal and quick, only to authed clients', async () => {
    const { server, url } = await startServer();
    const sub = await connectClient(url);
    const other = await connectClient(url);
    const got = collector<[string, unknown, boolean]>(4);
    sub.onmessage = (_c, u, p, quick) => got.push([u, p.param, quick]);
    const otherGot = vi.fn();
    other.onmessage = otherGot;
    const subscribed = deferred();
    sub.subscribe(['/a/', '/e'], () => subscribed.resolve());
    await subscribed.promise;
    const otherSubscribed = deferred();
    other.subscribe('/a/', () => otherSubscribed.resolve());
    await otherSubscribed.promise;
    const otherCli = server.clients().find((c) => c.id === other.id) as RemoteClient;
    otherCli.authed = false;
    for (const u of ['/a', '/ab', '/a/b/c', '/e/f', '/e']) server.publish(u, { param: u });
    await until(() => got.items.length >= 3);
    expect(server.publish('/a/q', { param: 'quick', data: Buffer.from('q') }, true)).toBe(true);
    await got.done;
    expect(got.items).toEqual([
      ['/a', '/a', false],
      ['/a/b/c', '/a/b/c', false],
      ['/e', '/e', false],
      ['/a/q', 'quick', true],
    ]);
    expect(otherGot).not.toHaveBeenCalled();
  });

  it('visits clients highest priority first and sends QOSSETUP on every assignment', async () => {
    const { server, url } = await startServer();
    const clients = await Promise.all([0, 1, 2].map(() => connectClient(url)));
    const remotes = server.clients();
    const seen = collector<number>(2);
    clients[1]?.on('priority', (p: number) => seen.push(p));
    (remotes[1] as RemoteClient).priority = 3;
    (remotes[1] as RemoteClient).priority = 3;
    (remotes[2] as RemoteClient).priority = 7;
    expect(await seen.done).toEqual([3, 3]);
    expect(server.clients().map((c) => c.priority)).toEqual([7, 3, 0]);
    await Promise.all(clients.map((c) => new Promise((r) => c.subscribe('/p', r))));
    const order: number[] = [];
    for (const cli of server.clients()) {
      const send = cli.conn.send.bind(cli.conn);
      vi.spyOn(cli.conn, 'send').mockImplementation((frame) => {
        order.push(cli.id);
        return send(frame);
      });
    }
    server.publish('/p');
    expect(order).toEqual([2, 1, 0]);
    expect(() => {
      (remotes[0] as RemoteClient).priority = 8;
    }).toThrow(RangeError);
  });

  it('throws a RangeError naming the limit for a publish that does not fit, before sending', async () => {
    const { server } = await startServer();
    expect(() => server.publish('/echo', { data: Buffer.alloc(262120) })).toThrow(
      /MAX_PACKET_LENGTH.*262144/,
    );
    expect(() => server.publish('/echo', { data: Buffer.alloc(65480) }, true)).toThrow(
      /MAX_QPACKET_LENGTH.*65507/,
    );
    expect(server.publish('/echo', { data: Buffer.alloc(262119) })).toBe(true);
    expect(server.publish('/echo', { data: Buffer.alloc(65479) }, true)).toBe(true);
  });
});

describe('Server: datagrams', () => {
  it('receives datagrams from clients over TCP and quick, and sends them both ways', async () => {
    const { server, url } = await startServer();
    const atServer = collector<[number, string, unknown, boolean]>(2);
    server.ondata = (cli, u, p, quick) => atServer.push([cli.id, u, p.param, quick]);
    const client = await connectClient(url);
    expect(client.datagram('/d/tcp', { param: { n: 1 } })).toBe(true);
    expect(client.datagram('/d/quick', { param: { n: 2 } }, true)).toBe(true);
    expect((await atServer.done).sort()).toEqual([
      [0, '/d/quick', { n: 2 }, true],
      [0, '/d/tcp', { n: 1 }, false],
    ]);
    const atClient = collector<[string, unknown, boolean]>(2);
    client.ondata = (_c, u, p, quick) => atClient.push([u, p.data, quick]);
    const cli = server.clients()[0] as RemoteClient;
    expect(cli.datagram('/s/tcp', { data: Buffer.from('t') })).toBe(true);
    expect(cli.datagram('/s/quick', { data: Buffer.from('q') }, true)).toBe(true);
    expect((await atClient.done).sort()).toEqual([
      ['/s/quick', Buffer.from('q'), true],
      ['/s/tcp', Buffer.from('t'), false],
    ]);
  });

  it('returns false for sends to a closed remote client', async () => {
    const { server, url } = await startServer();
    const client = await connectClient(url);
    const cli = server.clients()[0] as RemoteClient;
    const gone = deferred();
    server.onclient = (_c, connected) => !connected && gone.resolve();
    client.close();
    await gone.promise;
    expect(cli.isClosed()).toBe(true);
    expect(cli.reply(1)).toBe(false);
    expect(cli.datagram('/x')).toBe(false);
    expect(cli.datagram('/x', null, true)).toBe(false);
  });
});

describe('Server: raw frames', () => {
  it('serves requests before SERVINFO on a server without password, and answers PINGECHO', async () => {
    const { server, port } = await startServer();
    server.command('/echo', (cli, req, p) => cli.reply(req.seqno, p));
    const socket = net.connect(port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    const packets = collector<{ type: number; seqno: number; status: number }>(2);
    const decoder = new StreamDecoder((p) => packets.push(p));
    socket.on('data', (chunk) => decoder.push(chunk));
    for (const frame of [
      encodeFrame({ type: Type.RPC, seqno: 7, url: '/echo' }, '{"a":1}'),
      encodeFrame({ type: Type.PINGECHO, seqno: 8 }),
    ]) {
      for (const b of frame) socket.write(b);
    }
    const got = await packets.done;
    expect(got.map((p) => [p.type, p.seqno, p.status])).toEqual([
      [Type.RPC, 7, 0],
      [Type.PINGECHO, 8, 0],
    ]);
    expect(server.count()).toBe(0);
  });
});
