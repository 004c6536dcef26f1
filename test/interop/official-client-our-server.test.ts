import { describe, expect, it } from 'vitest';
import {
  MAX_PACKET_LENGTH,
  Method,
  type ReceivedPayload,
  type RemoteClient,
  type Request,
  Server,
  type ServerOptions,
  Status,
} from '../../src/index.js';
import { loadNative } from '../../src/native/addon.js';
import { getSockOptInt, IP_TOS, IPPROTO_IP } from '../../src/transport/sockopt.js';
import { collector, deferred, onCleanup } from '../helpers/net.js';
import {
  connectOfficialClient,
  freeTcpUdpPort,
  INTEROP_PARAMS,
  type OfficialClient,
  OfficialMethod,
  type OfficialPayload,
  officialCall,
  officialDone,
  sendUntilArrived,
  vsoa,
  within,
} from './official.js';

/*
 * The official npm `vsoa` 1.5.1 Client against our Server, over real loopback sockets.
 */

interface Seen {
  request: Request;
  payload: ReceivedPayload;
}

const MAX_ECHO_DATA = MAX_PACKET_LENGTH - 20 - '/echo'.length;

/** Our server on 127.0.0.1 with the application of the golden-vector captures. */
async function setup(options: ServerOptions = {}, port = 0) {
  const server = new Server({ info: { name: 'ours' }, ...options });
  const seen: Seen[] = [];
  const clients: RemoteClient[] = [];
  const refused: unknown[] = [];
  server.onclient = (cli, connected) => {
    if (connected) clients.push(cli);
  };
  server.command('/echo', (cli, request, payload) => {
    seen.push({ request, payload });
    cli.reply(request.seqno, payload);
  });
  server.command('/a/', (cli, request) =>
    cli.reply(request.seqno, { param: { handler: '/a/', url: request.url } }),
  );
  server.command('/status', (cli, request) => cli.reply(request.seqno, { param: { err: 'custom' } }, 200));
  server.command('/status-bare', (cli, request) => cli.reply(request.seqno, undefined, 201));
  server.command('/scalar', (cli, request, payload) =>
    cli.reply(request.seqno, { param: (payload.param as { v: unknown }).v }),
  );
  server.command('/prio', (cli, request, payload) => {
    cli.priority = (payload.param as { p: number }).p;
    cli.reply(request.seqno);
  });
  server.command('/too-big', (cli, request) => {
    // A reply carries no url: 20 + data must fit; one byte more must throw before sending.
    try {
      cli.reply(request.seqno, { data: Buffer.alloc(MAX_PACKET_LENGTH - 20 + 1) });
    } catch (error) {
      refused.push(error);
    }
    cli.reply(request.seqno, { data: Buffer.alloc(MAX_PACKET_LENGTH - 20, 0x5a) });
  });
  await server.listen(port, '127.0.0.1');
  onCleanup(() => server.close());
  const bound = server.address().port;
  return { server, seen, clients, refused, port: bound, url: `vsoa://127.0.0.1:${bound}` };
}

/** Connects an official client and fails the test when the handshake fails. */
async function official(url: string, passwd?: string): Promise<OfficialClient> {
  const { client, err } = await connectOfficialClient(url, passwd === undefined ? undefined : { passwd });
  if (err) throw err;
  return client;
}

describe('official Client -> our Server: handshake', () => {
  it('connects without a password and receives object info', async () => {
    const info = { name: 'ours', n: 1, nested: { ok: true } };
    const { url, server, clients } = await setup({ info });
    const { err, info: got, client } = await connectOfficialClient(url);
    expect(err).toBeUndefined();
    expect(got).toEqual(info);
    expect(client.connected).toBe(true);
    expect(server.count()).toBe(1);
    expect(clients.map((c) => c.id)).toEqual([0]);
  });

  it('receives server info given as a plain string', async () => {
    const { url } = await setup({ info: 'our string info' });
    const { err, info } = await connectOfficialClient(url);
    expect(err).toBeUndefined();
    expect(info).toBe('our string info');
  });

  it('right password connects; wrong or missing gives an error with status 1', async () => {
    const { url, clients } = await setup({ passwd: 'secret' });
    for (const options of [{ passwd: 'wrong' }, undefined]) {
      const { err, errors, client } = await connectOfficialClient(url, options);
      expect(err).toBeInstanceOf(Error);
      expect(err?.status).toBe(Status.PASSWORD);
      expect(errors).toHaveLength(1);
      expect(client.connected).toBeFalsy();
    }
    expect(clients).toHaveLength(0);
    const good = await official(url, 'secret');
    expect((await officialCall(good, '/echo', OfficialMethod.GET, { param: [1] })).payload).toEqual({
      param: [1],
    });
    expect(clients).toHaveLength(1);
  });
});

describe('official Client -> our Server: RPC', () => {
  const shapes: Array<[string, OfficialPayload | undefined]> = [
    ['neither', undefined],
    ['param', { param: { a: 1, b: 'two' } }],
    ['data', { data: Buffer.from([0, 1, 2, 0xff]) }],
    ['both', { param: { a: 1 }, data: Buffer.from('bytes') }],
  ];
  for (const method of [OfficialMethod.GET, OfficialMethod.SET]) {
    for (const [name, payload] of shapes) {
      it(`${method === OfficialMethod.SET ? 'SET' : 'GET'} with ${name}: our server sees it and echoes it`, async () => {
        const { url, seen } = await setup();
        const client = await official(url);
        const { err, payload: reply } = await officialCall(client, '/echo', method, payload);
        expect(err).toBeUndefined();
        if (payload === undefined) expect(reply).toBeUndefined();
        else expect(reply).toEqual(payload);
        expect(seen).toHaveLength(1);
        expect(seen[0]?.request.url).toBe('/echo');
        expect(seen[0]?.request.method).toBe(method === OfficialMethod.SET ? Method.SET : Method.GET);
        expect(seen[0]?.payload).toEqual(payload ?? {});
      });
    }
  }

  it('carries param as object, array, string and unicode unchanged', async () => {
    const { url, seen } = await setup();
    const client = await official(url);
    const params = INTEROP_PARAMS;
    for (const param of params) {
      const { err, payload } = await officialCall(client, '/echo', OfficialMethod.SET, { param });
      expect(err).toBeUndefined();
      expect(payload).toEqual({ param });
    }
    expect(seen.map((s) => s.payload.param)).toEqual(params);
  });

  it('parses number, boolean and absent params that our server sends', async () => {
    const { url } = await setup();
    const client = await official(url);
    for (const v of [42, 0, -3.5, true, false]) {
      expect((await officialCall(client, '/scalar', OfficialMethod.GET, { param: { v } })).payload).toEqual({
        param: v,
      });
    }
    // null means "no param" on our side: nothing goes on the wire.
    expect(
      (await officialCall(client, '/scalar', OfficialMethod.GET, { param: { v: null } })).payload,
    ).toBeUndefined();
  });

  it('echoes the largest data that fits next to /echo', async () => {
    const { url, seen } = await setup();
    const client = await official(url);
    expect(MAX_ECHO_DATA).toBe(262119);
    const data = Buffer.alloc(MAX_ECHO_DATA);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    const { err, payload } = await officialCall(client, '/echo', OfficialMethod.SET, { data });
    expect(err).toBeUndefined();
    expect(payload?.data?.equals(data)).toBe(true);
    expect(seen[0]?.payload.data?.length).toBe(MAX_ECHO_DATA);
  });

  it('our server refuses a reply one byte too big with RangeError, and sends the largest one', async () => {
    const { url, refused } = await setup();
    const client = await official(url);
    const { err, payload } = await officialCall(client, '/too-big', OfficialMethod.GET);
    expect(err).toBeUndefined();
    expect(payload?.data?.length).toBe(MAX_PACKET_LENGTH - 20);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(RangeError);
  });

  it('passes custom statuses 200 and 201 and unknown-url status 3', async () => {
    const { url } = await setup();
    const client = await official(url);
    const custom = await officialCall(client, '/status', OfficialMethod.GET);
    expect(custom.err?.status).toBe(200);
    expect(custom.payload).toEqual({ param: { err: 'custom' } });
    const bare = await officialCall(client, '/status-bare', OfficialMethod.SET);
    expect(bare.err?.status).toBe(201);
    expect(bare.payload).toBeUndefined();
    const unknown = await officialCall(client, '/nowhere', OfficialMethod.GET);
    expect(unknown.err?.status).toBe(Status.INVALID_URL);
    // The connection is still fine afterwards.
    expect((await officialCall(client, '/echo', OfficialMethod.GET, { param: 'ok' })).payload).toEqual({
      param: 'ok',
    });
  });

  it('hands unicode and deep urls to the handler intact', async () => {
    const { url } = await setup();
    const client = await official(url);
    const deep = '/a/ünï/中/x y';
    const { err, payload } = await officialCall(client, deep, OfficialMethod.GET);
    expect(err).toBeUndefined();
    expect(payload).toEqual({ param: { handler: '/a/', url: deep } });
  });

  it('serves /a, /a/, /a/b, /a/b/c from the wildcard /a/, but not /ab', async () => {
    const { url } = await setup();
    const client = await official(url);
    for (const u of ['/a', '/a/', '/a/b', '/a/b/c']) {
      const { err, payload } = await officialCall(client, u, OfficialMethod.GET);
      expect(err).toBeUndefined();
      expect(payload).toEqual({ param: { handler: '/a/', url: u } });
    }
    expect((await officialCall(client, '/ab', OfficialMethod.GET)).err?.status).toBe(Status.INVALID_URL);
  });

  it('lets the longest matching prefix win', async () => {
    const { url, server } = await setup();
    for (const prefix of ['/p/', '/p/q/', '/p/q/r/s/']) {
      server.command(prefix, (cli, request) => cli.reply(request.seqno, { param: prefix }));
    }
    server.command('/p/q/exact', (cli, request) => cli.reply(request.seqno, { param: 'exact' }));
    const client = await official(url);
    const expected: Array<[string, string]> = [
      ['/p', '/p/'],
      ['/p/x', '/p/'],
      ['/p/q', '/p/q/'],
      ['/p/q/r', '/p/q/'],
      ['/p/q/r/s', '/p/q/r/s/'],
      ['/p/q/r/s/t/u', '/p/q/r/s/'],
      ['/p/q/exact', 'exact'],
      ['/p/q/exactly', '/p/q/'],
    ];
    for (const [u, handler] of expected) {
      expect([u, (await officialCall(client, u, OfficialMethod.GET)).payload?.param]).toEqual([u, handler]);
    }
  });
});

describe('official Client -> our Server: subscribe and publish', () => {
  function messages(client: OfficialClient, count: number) {
    const got = collector<[string, OfficialPayload | undefined, boolean]>(count);
    client.on('message', (url: string, payload: OfficialPayload | undefined, quick: boolean) =>
      got.push([url, payload, quick]),
    );
    return got;
  }

  it('subscribes to one url (a wildcard) and gets matching publishes only', async () => {
    const { url, server, clients } = await setup();
    const client = await official(url);
    const subscribed = deferred<string | string[]>();
    (clients[0] as RemoteClient).onsubscribe = (_cli, u) => subscribed.resolve(u);
    const got = messages(client, 3);
    expect(await officialDone((cb) => client.subscribe('/a/', cb))).toBeUndefined();
    expect(await subscribed.promise).toBe('/a/');
    expect(server.isSubscribed('/a/b')).toBe(true);
    expect(server.isSubscribed('/ab')).toBe(false);
    expect(server.publish('/ab', { param: 'no' })).toBe(true);
    server.publish('/a', { param: 1 });
    server.publish('/a/b', { param: { x: 'é' }, data: Buffer.from('d') });
    server.publish('/a/b/c');
    expect(await got.done).toEqual([
      ['/a', { param: 1 }, false],
      ['/a/b', { param: { x: 'é' }, data: Buffer.from('d') }, false],
      ['/a/b/c', undefined, false],
    ]);
  });

  it('subscribes to a list', async () => {
    const { url, server, clients } = await setup();
    const client = await official(url);
    const got = messages(client, 2);
    expect(await officialDone((cb) => client.subscribe(['/x', '/y'], cb))).toBeUndefined();
    expect((clients[0] as RemoteClient).isSubscribed('/x')).toBe(true);
    server.publish('/z', { param: 'no' });
    server.publish('/y', { param: 'y' });
    server.publish('/x', { param: 'x' });
    expect((await got.done).map(([u, p]) => [u, p?.param])).toEqual([
      ['/y', 'y'],
      ['/x', 'x'],
    ]);
  });

  it('gets no more messages after unsubscribing (single and list)', async () => {
    const { url, server, clients } = await setup();
    const client = await official(url);
    const got: string[] = [];
    const marker = deferred();
    client.on('message', (u: string) => {
      got.push(u);
      if (u === '/keep') marker.resolve();
    });
    expect(await officialDone((cb) => client.subscribe(['/u', '/v/', '/w', '/keep'], cb))).toBeUndefined();
    expect(await officialDone((cb) => client.unsubscribe('/u', cb))).toBeUndefined();
    expect(await officialDone((cb) => client.unsubscribe(['/v/', '/w'], cb))).toBeUndefined();
    const cli = clients[0] as RemoteClient;
    expect(['/u', '/v/1', '/w', '/keep'].map((u) => cli.isSubscribed(u))).toEqual([
      false,
      false,
      false,
      true,
    ]);
    server.publish('/u');
    server.publish('/v/1');
    server.publish('/w');
    server.publish('/keep');
    await marker.promise;
    // Publishes go out in order on one TCP connection: had any other arrived, it came first.
    expect(got).toEqual(['/keep']);
  });

  for (const fixedPort of [false, true]) {
    it(`receives quick publishes (our server on ${fixedPort ? 'a fixed port' : 'port 0'})`, async () => {
      const fixed = fixedPort ? await freeTcpUdpPort() : 0;
      const { url, server, port } = await setup({}, fixed);
      if (fixedPort) expect(port).toBe(fixed);
      const client = await official(url);
      const first = deferred<[string, OfficialPayload | undefined, boolean]>();
      client.on('message', (u: string, payload: OfficialPayload | undefined, quick: boolean) =>
        first.resolve([u, payload, quick]),
      );
      expect(await officialDone((cb) => client.subscribe('/q/', cb))).toBeUndefined();
      const got = await sendUntilArrived(
        () => expect(server.publish('/q/1', { param: { n: 1 }, data: Buffer.from([9]) }, true)).toBe(true),
        first.promise,
      );
      expect(got).toEqual(['/q/1', { param: { n: 1 }, data: Buffer.from([9]) }, true]);
    });
  }
});

describe('official Client -> our Server: datagrams, ping, QoS', () => {
  it('exchanges datagrams both ways, normal and quick', async () => {
    const { url, server, clients } = await setup();
    const client = await official(url);
    const cli = clients[0] as RemoteClient;

    // Server -> client.
    const tcp = deferred<[string, OfficialPayload | undefined, boolean]>();
    client.once('datagram', (u: string, payload: OfficialPayload | undefined, quick: boolean) =>
      tcp.resolve([u, payload, quick]),
    );
    expect(cli.datagram('/dg', { param: { to: 'client' }, data: Buffer.from('tcp') })).toBe(true);
    expect(await within(tcp.promise, 5000, 'a TCP datagram')).toEqual([
      '/dg',
      { param: { to: 'client' }, data: Buffer.from('tcp') },
      false,
    ]);
    const quick = deferred<[string, OfficialPayload | undefined, boolean]>();
    client.on('datagram', (u: string, payload: OfficialPayload | undefined, q: boolean) =>
      quick.resolve([u, payload, q]),
    );
    const got = await sendUntilArrived(
      () => expect(cli.datagram('/dgq', { param: [1, 2] }, true)).toBe(true),
      quick.promise,
    );
    expect(got).toEqual(['/dgq', { param: [1, 2] }, true]);

    // Client -> server.
    const atServer = deferred<[number, string, ReceivedPayload, boolean]>();
    server.ondata = (c, u, payload, q) => atServer.resolve([c.id, u, payload, q]);
    client.datagram('/up', { param: { from: 'client' }, data: Buffer.from([1, 2]) });
    expect(await within(atServer.promise, 5000, 'a TCP datagram at the server')).toEqual([
      cli.id,
      '/up',
      { param: { from: 'client' }, data: Buffer.from([1, 2]) },
      false,
    ]);
    const quickAtServer = deferred<[number, string, ReceivedPayload, boolean]>();
    server.ondata = (c, u, payload, q) => quickAtServer.resolve([c.id, u, payload, q]);
    const up = await sendUntilArrived(
      () => client.datagram('/upq', { data: Buffer.from('quick') }, true),
      quickAtServer.promise,
    );
    expect(up).toEqual([cli.id, '/upq', { data: Buffer.from('quick') }, true]);
  });

  it('answers ping', async () => {
    const { url } = await setup();
    const client = await official(url);
    expect(await officialDone((cb) => client.ping(cb, 5000))).toBeUndefined();
  });

  it('sends QOSSETUP that the official client applies to its socket and keeps working after', async () => {
    const { url } = await setup();
    const { client, errors, err } = await connectOfficialClient(url);
    expect(err).toBeUndefined();
    const socket = client._net;
    if (!socket) throw new Error('official client has no socket');
    const native = loadNative() !== undefined;
    if (native) expect(getSockOptInt(socket, IPPROTO_IP, IP_TOS)).toBe(0);
    // QOSSETUP goes out before the reply on the same connection, so it was handled by then.
    expect(
      (await officialCall(client, '/prio', OfficialMethod.GET, { param: { p: 5 } })).err,
    ).toBeUndefined();
    // The official client's only observable: it sets IP_TOS = p << 5 | 0x08 (low delay).
    if (native) expect(getSockOptInt(socket, IPPROTO_IP, IP_TOS)).toBe((5 << 5) | 0x08);
    expect((await officialCall(client, '/echo', OfficialMethod.GET, { param: 'still' })).payload).toEqual({
      param: 'still',
    });
    expect(await officialDone((cb) => client.ping(cb, 5000))).toBeUndefined();
    expect(
      (await officialCall(client, '/prio', OfficialMethod.GET, { param: { p: 0 } })).err,
    ).toBeUndefined();
    if (native) expect(getSockOptInt(socket, IPPROTO_IP, IP_TOS)).toBe(0);
    expect(client.connected).toBe(true);
    expect(errors).toEqual([]);
  });

  it('serves the official one-shot fetch', async () => {
    const { port, server } = await setup({ passwd: '' });
    const gone = deferred();
    server.onclient = (_cli, connected) => {
      if (!connected) gone.resolve();
    };
    const result = await vsoa.fetch(
      `vsoa://127.0.0.1:${port}/echo`,
      { method: OfficialMethod.SET },
      { param: { q: 'hé' } },
      5000,
    );
    expect(result.payload).toEqual({ param: { q: 'hé' } });
    expect(result.info).toEqual({ name: 'ours' });
    await within(gone.promise, 5000, 'the one-shot connection to close');
    expect(server.count()).toBe(0);
  });
});
