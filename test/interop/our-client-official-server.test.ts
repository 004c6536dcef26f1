import { describe, expect, it } from 'vitest';
import {
  Client,
  ConnectCode,
  fetch,
  MAX_PACKET_LENGTH,
  Method,
  type ReceivedPayload,
  Status,
  VsoaError,
} from '../../src/index.js';
import { Flag, Type } from '../../src/protocol/index.js';
import { collector, connectClient, deferred, onCleanup } from '../helpers/net.js';
import {
  freeTcpUdpPort,
  INTEROP_PARAMS,
  type OfficialPayload,
  type OfficialRemoteClient,
  type OfficialRequest,
  type OfficialServer,
  sendUntilArrived,
  startOfficialServer,
  within,
} from './official.js';

/*
 * Our Client against the official npm `vsoa` 1.5.1 Server, over real loopback sockets.
 */

interface Seen {
  request: OfficialRequest;
  payload: OfficialPayload | undefined;
}

/** The application of the golden-vector captures, on an official server. */
function install(server: OfficialServer): { seen: Seen[]; clients: OfficialRemoteClient[] } {
  const seen: Seen[] = [];
  const clients: OfficialRemoteClient[] = [];
  server.onclient = (cli, connected) => {
    if (connected) clients.push(cli);
  };
  server.on('/echo', (cli, request, payload) => {
    seen.push({ request, payload });
    cli.reply(0, request.seqno, payload);
  });
  server.on('/a/', (cli, request) =>
    cli.reply(0, request.seqno, { param: { handler: '/a/', url: request.url } }),
  );
  server.on('/status', (cli, request) => cli.reply(200, request.seqno, { param: { err: 'custom' } }));
  server.on('/status-bare', (cli, request) => cli.reply(201, request.seqno));
  server.on('/prio', (cli, request, payload) => {
    cli.priority((payload?.param as { p: number } | undefined)?.p ?? 0);
    cli.reply(0, request.seqno);
  });
  return { seen, clients };
}

async function setup(options: { info?: unknown; passwd?: string } = {}, port = 0) {
  const official = await startOfficialServer(options, port);
  return { ...official, ...install(official.server) };
}

/** A client that records onconnect's info, closed after the test. */
function newClient(): { client: Client; info: Promise<unknown> } {
  const client = new Client();
  onCleanup(() => client.close());
  const info = deferred<unknown>();
  client.onconnect = (_c, connected, i) => {
    if (connected) info.resolve(i);
  };
  return { client, info: info.promise };
}

describe('our Client -> official Server: handshake', () => {
  it('connects without a password and receives object info and a client id', async () => {
    const info = { name: 'official', n: 1, nested: { ok: true } };
    const { url, server, clients } = await setup({ info });
    const { client, info: got } = newClient();
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    expect(await got).toEqual(info);
    expect(client.connected).toBe(true);
    expect(client.id).toBe(0);
    expect(server.count()).toBe(1);
    expect(clients).toHaveLength(1);
  });

  it('receives server info given as a plain string', async () => {
    const { url } = await setup({ info: 'official string info' });
    const { client, info } = newClient();
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    expect(await info).toBe('official string info');
  });

  it('right password connects; wrong or missing gives INVALID_PASSWD', async () => {
    const { url, clients } = await setup({ passwd: 'secret' });
    const bad = new Client();
    onCleanup(() => bad.close());
    expect(await bad.connect(url, { passwd: 'wrong' })).toBe(ConnectCode.INVALID_PASSWD);
    expect(bad.connected).toBe(false);
    expect(await bad.connect(url)).toBe(ConnectCode.INVALID_PASSWD);
    expect(clients).toHaveLength(0);
    const good = await connectClient(url, 'secret');
    expect(good.connected).toBe(true);
    expect((await good.fetch('/echo', { payload: { param: [1] } })).payload).toEqual({ param: [1] });
    expect(clients).toHaveLength(1);
  });
});

describe('our Client -> official Server: RPC', () => {
  const shapes: Array<[string, { param?: unknown; data?: Buffer } | undefined]> = [
    ['neither', undefined],
    ['param', { param: { a: 1, b: 'two' } }],
    ['data', { data: Buffer.from([0, 1, 2, 0xff]) }],
    ['both', { param: { a: 1 }, data: Buffer.from('bytes') }],
  ];
  for (const method of [Method.GET, Method.SET]) {
    for (const [name, payload] of shapes) {
      it(`${method === Method.SET ? 'SET' : 'GET'} with ${name}: the server sees it and echoes it`, async () => {
        const { url, seen } = await setup();
        const client = await connectClient(url);
        const { header, payload: reply } = await client.fetch('/echo', { method, payload });
        expect(header).toMatchObject({ type: Type.RPC, flags: Flag.REPLY, status: Status.SUCCESS, tunid: 0 });
        expect(reply).toEqual(payload ?? {});
        expect(seen).toHaveLength(1);
        expect(seen[0]?.request).toEqual({ url: '/echo', seqno: header.seqno, method });
        if (payload === undefined) expect(seen[0]?.payload).toBeUndefined();
        else expect(seen[0]?.payload).toEqual(payload);
      });
    }
  }

  it('carries param as object, array, string and unicode unchanged', async () => {
    const { url, seen } = await setup();
    const client = await connectClient(url);
    const params = INTEROP_PARAMS;
    for (const param of params) {
      const { payload } = await client.fetch('/echo', { method: Method.SET, payload: { param } });
      expect(payload).toEqual({ param });
    }
    expect(seen.map((s) => s.payload?.param)).toEqual(params);
  });

  it('delivers number and boolean params to the server (whose encoder cannot send them back)', async () => {
    const { url, seen } = await setup();
    const client = await connectClient(url);
    for (const param of [42, 0, 3.5, true, false]) {
      const { header, payload } = await client.fetch('/echo', { payload: { param } });
      expect(header.status).toBe(Status.SUCCESS);
      // Official 1.5.1 quirk: its payload encoder sends only string and object params.
      expect(payload).toEqual({});
    }
    expect(seen.map((s) => s.payload?.param)).toEqual([42, 0, 3.5, true, false]);
  });

  it('echoes the largest data that fits next to /echo, and refuses one byte more before sending', async () => {
    const { url, seen } = await setup();
    const client = await connectClient(url);
    const max = MAX_PACKET_LENGTH - 20 - '/echo'.length;
    expect(max).toBe(262119);
    const data = Buffer.alloc(max);
    for (let i = 0; i < max; i++) data[i] = (i * 7) & 0xff;
    const { header, payload } = await client.fetch('/echo', { payload: { data } });
    expect(header.status).toBe(Status.SUCCESS);
    expect(payload.data?.equals(data)).toBe(true);

    const param = { k: 'v' };
    const withParam = Buffer.alloc(max - JSON.stringify(param).length, 0xab);
    const both = await client.fetch('/echo', { method: Method.SET, payload: { param, data: withParam } });
    expect(both.payload.param).toEqual(param);
    expect(both.payload.data?.equals(withParam)).toBe(true);

    const tooBig = Buffer.alloc(max + 1);
    expect(() => client.call('/echo', { payload: { data: tooBig } }, () => {})).toThrow(RangeError);
    expect(() => client.fetch('/echo', { payload: { data: tooBig } })).toThrow(RangeError);
    expect(() => client.datagram('/echo', { data: tooBig })).toThrow(RangeError);
    expect(client.pendings).toBe(0);
    // Nothing of the refused calls reached the server: the next request still works in order.
    expect((await client.fetch('/echo', { payload: { param: 'after' } })).payload).toEqual({
      param: 'after',
    });
    expect(seen.map((s) => s.payload?.data?.length ?? 0)).toEqual([max, withParam.length, 0]);
  });

  it('passes custom statuses 200 and 201 and unknown-url status 3, with or without payload', async () => {
    const { url } = await setup();
    const client = await connectClient(url);
    const custom = await client.fetch('/status');
    expect(custom.header.status).toBe(200);
    expect(custom.payload).toEqual({ param: { err: 'custom' } });
    const bare = await client.fetch('/status-bare');
    expect(bare.header.status).toBe(201);
    expect(bare.payload).toEqual({});
    const unknown = await client.fetch('/nowhere');
    expect(unknown.header.status).toBe(Status.INVALID_URL);
    expect(unknown.payload).toEqual({});

    const viaCall = deferred<[number | undefined, ReceivedPayload | null]>();
    expect(
      client.call('/status', {}, (_c, header, payload) => viaCall.resolve([header?.status, payload])),
    ).toBe(true);
    expect(await viaCall.promise).toEqual([200, { param: { err: 'custom' } }]);
  });

  it('checks urls locally and sends unicode and deep urls intact', async () => {
    const { url } = await setup();
    const client = await connectClient(url);
    expect(() => client.call('echo', {}, () => {})).toThrow(TypeError);
    expect(() => client.call('', {}, () => {})).toThrow(TypeError);
    expect(client.pendings).toBe(0);
    const deep = '/a/ünï/中/x y';
    expect((await client.fetch(deep)).payload).toEqual({ param: { handler: '/a/', url: deep } });
  });

  it('reaches a wildcard /a/ through /a, /a/b, /a/b/c but not /ab', async () => {
    const { url } = await setup();
    const client = await connectClient(url);
    for (const u of ['/a', '/a/', '/a/b', '/a/b/c']) {
      const { header, payload } = await client.fetch(u);
      expect(header.status).toBe(Status.SUCCESS);
      expect(payload).toEqual({ param: { handler: '/a/', url: u } });
    }
    expect((await client.fetch('/ab')).header.status).toBe(Status.INVALID_URL);
  });
});

describe('our Client -> official Server: subscribe and publish', () => {
  function messages(client: Client, count: number) {
    const got = collector<[string, ReceivedPayload, boolean]>(count);
    client.onmessage = (_c, url, payload, quick) => got.push([url, payload, quick]);
    return got;
  }

  function subscribed(client: Client, url: string | string[], un = false): Promise<boolean> {
    const done = deferred<boolean>();
    const sent = un
      ? client.unsubscribe(url, (_c, ok) => done.resolve(ok))
      : client.subscribe(url, (_c, ok) => done.resolve(ok));
    expect(sent).toBe(true);
    return done.promise;
  }

  it('subscribes to one url (a wildcard) and gets matching publishes only', async () => {
    const { url, server } = await setup();
    const client = await connectClient(url);
    const got = messages(client, 3);
    expect(await subscribed(client, '/a/')).toBe(true);
    server.publish('/ab', { param: 'no' });
    server.publish('/a', { param: [1] });
    server.publish('/a/b', { param: { x: 'é' }, data: Buffer.from('d') });
    server.publish('/a/b/c');
    expect(await got.done).toEqual([
      ['/a', { param: [1] }, false],
      ['/a/b', { param: { x: 'é' }, data: Buffer.from('d') }, false],
      ['/a/b/c', {}, false],
    ]);
  });

  it('subscribes to a list', async () => {
    const { url, server } = await setup();
    const client = await connectClient(url);
    const got = messages(client, 2);
    expect(await subscribed(client, ['/x', '/y'])).toBe(true);
    server.publish('/z', { param: 'no' });
    server.publish('/y', { param: 'y' });
    server.publish('/x', { param: 'x' });
    expect((await got.done).map(([u, p]) => [u, p.param])).toEqual([
      ['/y', 'y'],
      ['/x', 'x'],
    ]);
  });

  it('gets no more messages after unsubscribing (single and list)', async () => {
    const { url, server } = await setup();
    const client = await connectClient(url);
    const got: string[] = [];
    const marker = deferred();
    client.onmessage = (_c, u) => {
      got.push(u);
      if (u === '/keep') marker.resolve();
    };
    expect(await subscribed(client, ['/u', '/v/', '/w', '/keep'])).toBe(true);
    expect(await subscribed(client, '/u', true)).toBe(true);
    expect(await subscribed(client, ['/v/', '/w'], true)).toBe(true);
    server.publish('/u');
    server.publish('/v/1');
    server.publish('/w');
    server.publish('/keep');
    await marker.promise;
    // Publishes go out in order on one TCP connection: had any other arrived, it came first.
    expect(got).toEqual(['/keep']);
  });

  it('receives quick publishes from a server started on port 0 (quick port from the 6-byte SERVINFO)', async () => {
    const { url, server, port } = await setup();
    const client = await connectClient(url);
    // On port 0 the official server binds UDP on its own port and announces it.
    expect(server._qport).toBeTypeOf('number');
    expect(server._qport).not.toBe(port);
    const first = deferred<[string, ReceivedPayload, boolean]>();
    client.onmessage = (_c, u, payload, quick) => first.resolve([u, payload, quick]);
    expect(await subscribed(client, '/q')).toBe(true);
    const got = await sendUntilArrived(
      () => server.publish('/q', { param: { n: 1 }, data: Buffer.from([9]) }, true),
      first.promise,
    );
    expect(got).toEqual(['/q', { param: { n: 1 }, data: Buffer.from([9]) }, true]);
  });

  it('receives quick publishes from a server on a fixed port (quick port = TCP port)', async () => {
    const fixed = await freeTcpUdpPort();
    const { url, server, port } = await setup({}, fixed);
    expect(port).toBe(fixed);
    expect(server._qport).toBeUndefined();
    const client = await connectClient(url);
    const first = deferred<[string, ReceivedPayload, boolean]>();
    client.onmessage = (_c, u, payload, quick) => first.resolve([u, payload, quick]);
    expect(await subscribed(client, '/')).toBe(true);
    const got = await sendUntilArrived(
      () => server.publish('/any/where', { param: 'q' }, true),
      first.promise,
    );
    expect(got).toEqual(['/any/where', { param: 'q' }, true]);
  });
});

describe('our Client -> official Server: datagrams, ping, QoS', () => {
  for (const fixedPort of [false, true]) {
    const where = fixedPort ? 'a fixed port' : 'port 0';
    it(`exchanges datagrams both ways, normal and quick (server on ${where})`, async () => {
      const { url, clients, server } = await setup({}, fixedPort ? await freeTcpUdpPort() : 0);
      const client = await connectClient(url);
      const cli = clients[0] as OfficialRemoteClient;

      // Server -> client.
      const tcp = deferred<[string, ReceivedPayload, boolean]>();
      client.ondata = (_c, u, payload, quick) => tcp.resolve([u, payload, quick]);
      cli.datagram('/dg', { param: { to: 'client' }, data: Buffer.from('tcp') });
      expect(await within(tcp.promise, 5000, 'a TCP datagram')).toEqual([
        '/dg',
        { param: { to: 'client' }, data: Buffer.from('tcp') },
        false,
      ]);
      const quick = deferred<[string, ReceivedPayload, boolean]>();
      client.ondata = (_c, u, payload, q) => quick.resolve([u, payload, q]);
      const got = await sendUntilArrived(() => cli.datagram('/dgq', { param: [1, 2] }, true), quick.promise);
      expect(got).toEqual(['/dgq', { param: [1, 2] }, true]);

      // Client -> server.
      const atServer = deferred<[string, OfficialPayload | undefined, boolean]>();
      server.ondata = (_cli, u, payload, q) => atServer.resolve([u, payload, q]);
      expect(client.datagram('/up', { param: { from: 'client' }, data: Buffer.from([1, 2]) })).toBe(true);
      expect(await within(atServer.promise, 5000, 'a TCP datagram at the server')).toEqual([
        '/up',
        { param: { from: 'client' }, data: Buffer.from([1, 2]) },
        false,
      ]);
      const quickAtServer = deferred<[string, OfficialPayload | undefined, boolean]>();
      server.ondata = (_cli, u, payload, q) => quickAtServer.resolve([u, payload, q]);
      const up = await sendUntilArrived(
        () => expect(client.datagram('/upq', { data: Buffer.from('quick') }, true)).toBe(true),
        quickAtServer.promise,
      );
      expect(up).toEqual(['/upq', { data: Buffer.from('quick') }, true]);
    });
  }

  it('pings', async () => {
    const { url } = await setup();
    const client = await connectClient(url);
    const pong = deferred<boolean>();
    expect(client.ping((_c, ok) => pong.resolve(ok), 5000)).toBe(true);
    expect(await pong.promise).toBe(true);
  });

  it('takes the priority the server sets with QOSSETUP', async () => {
    const { url } = await setup();
    const client = await connectClient(url);
    const events: number[] = [];
    client.on('priority', (p: number) => events.push(p));
    expect(client.priority).toBe(0);
    await client.fetch('/prio', { payload: { param: { p: 5 } } });
    // QOSSETUP went out before the reply on the same connection.
    expect(events).toEqual([5]);
    expect(client.priority).toBe(5);
    await client.fetch('/prio', { payload: { param: { p: 0 } } });
    expect(events).toEqual([5, 0]);
    expect(client.priority).toBe(0);
  });
});

describe('one-shot fetch -> official Server', () => {
  it('connects, calls, and closes', async () => {
    const { port, server } = await setup();
    const gone = deferred();
    const onclient = server.onclient;
    server.onclient = (cli, connected) => {
      onclient?.(cli, connected);
      if (!connected) gone.resolve();
    };
    const payload = { param: { q: 'hé' }, data: Buffer.from('one-shot') };
    const { header, payload: reply } = await fetch(`vsoa://127.0.0.1:${port}/echo`, {
      method: Method.SET,
      payload,
    });
    expect(header.status).toBe(Status.SUCCESS);
    expect(reply).toEqual(payload);
    await within(gone.promise, 5000, 'the one-shot connection to close');
    expect(server.count()).toBe(0);
    const unknown = await fetch(`vsoa://127.0.0.1:${port}/nowhere`);
    expect(unknown.header.status).toBe(Status.INVALID_URL);
  });

  it('sends the password and rejects a wrong one with INVALID_PASSWD', async () => {
    const { port } = await setup({ passwd: 'secret' });
    const ok = await fetch(`vsoa://127.0.0.1:${port}/a/b`, { passwd: 'secret' });
    expect(ok.payload).toEqual({ param: { handler: '/a/', url: '/a/b' } });
    const failure = await fetch(`vsoa://127.0.0.1:${port}/echo`, { passwd: 'nope' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(VsoaError);
    expect((failure as VsoaError).code).toBe('ERR_VSOA_CONNECT');
    expect((failure as VsoaError).connectCode).toBe(ConnectCode.INVALID_PASSWD);
  });
});
