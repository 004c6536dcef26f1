import { describe, expect, it } from 'vitest';
import { type RemoteClient, Server, Status } from '../../src/index.js';
import { createGateway, type GatewayOptions, type JsonValue, JugglerError } from '../../src/juggler/index.js';
import { onCleanup, until } from '../helpers/net.js';
import { freeTcpUdpPort, type OfficialRemoteClient, startOfficialServer } from '../interop/official.js';
import { connectJuggler } from './helpers.js';

/** A VSOA server as the gateway tests drive it: ours or the official npm package's. */
interface VsoaSide {
  url: string;
  publish(url: string, param: JsonValue, data?: Buffer, quick?: boolean): void;
  /** A datagram from the server to every connected client. */
  datagramToClients(url: string, param: JsonValue): void;
  received: Array<{ url: string; param: unknown }>;
  clients(): number;
}

const INFO = { name: 'gateway-test' };

async function ourServer(): Promise<VsoaSide> {
  const server = new Server({ info: INFO });
  const received: VsoaSide['received'] = [];
  const remotes = new Set<RemoteClient>();
  server.onclient = (cli, connected) => (connected ? remotes.add(cli) : remotes.delete(cli));
  server.command('/echo', (cli, req, payload) =>
    cli.reply(req.seqno, { param: { method: req.method, got: payload.param ?? null } }),
  );
  server.command('/bytes', (cli, req) => cli.reply(req.seqno, { param: 'b', data: Buffer.from([1, 2, 3]) }));
  server.command('/fail', (cli, req) =>
    cli.reply(req.seqno, { param: { why: 'no' } }, Status.NO_PERMISSIONS),
  );
  server.command('/slow', () => {});
  server.ondata = (_cli, url, payload) => received.push({ url, param: payload.param });
  await server.listen(0, '127.0.0.1');
  onCleanup(() => server.close());
  return {
    url: `vsoa://127.0.0.1:${server.address().port}`,
    publish: (url, param, data, quick = false) =>
      server.publish(url, data ? { param, data } : { param }, quick),
    datagramToClients: (url, param) => {
      for (const cli of remotes) cli.datagram(url, { param });
    },
    received,
    clients: () => remotes.size,
  };
}

async function officialServer(): Promise<VsoaSide> {
  const { server, url } = await startOfficialServer({ info: INFO });
  const received: VsoaSide['received'] = [];
  const remotes = new Set<OfficialRemoteClient>();
  server.onclient = (cli, connected) => (connected ? remotes.add(cli) : remotes.delete(cli));
  server.on('/echo', (cli, req, payload) =>
    cli.reply(0, req.seqno, { param: { method: req.method, got: payload?.param ?? null } }),
  );
  server.on('/bytes', (cli, req) => cli.reply(0, req.seqno, { param: 'b', data: Buffer.from([1, 2, 3]) }));
  server.on('/fail', (cli, req) => cli.reply(Status.NO_PERMISSIONS, req.seqno, { param: { why: 'no' } }));
  server.on('/slow', () => {});
  server.ondata = (_cli, url, payload) => received.push({ url, param: payload?.param });
  return {
    url,
    publish: (u, param, data) => server.publish(u, data ? { param, data } : { param }),
    datagramToClients: (u, param) => {
      for (const cli of remotes) cli.datagram(u, { param });
    },
    received,
    clients: () => remotes.size,
  };
}

async function startGateway(server: string, options: Partial<GatewayOptions> = {}) {
  const gateway = await createGateway({ server, port: 0, robot: { reconnDelay: 100 }, ...options });
  onCleanup(() => gateway.close());
  const ws = gateway.url.replace(/^http/, 'ws').replace(/\/$/, '/ws');
  return { gateway, ws };
}

type GatewayState = { vsoa: { connected: boolean; info: unknown }; topics: Record<string, unknown> };

describe.each([
  ['our VSOA Server', ourServer],
  ['the official npm vsoa server', officialServer],
])('gateway against %s', (_name, start) => {
  it('mirrors the link and every publish into the shared state, and sends publishes as notify with --notify', async () => {
    const vsoa = await start();
    const { ws } = await startGateway(vsoa.url, { notify: true, subscribe: ['/sensors/', '/status'] });
    const notes: Array<[string, JsonValue]> = [];
    const a = await connectJuggler(ws, {}, (_c, name, data) => notes.push([name, data]));
    const b = await connectJuggler(`${ws}/0.6`);
    expect([a.wire, b.wire]).toEqual(['0.7', '0.6']);
    await until(() => (a.state as GatewayState).vsoa.connected && vsoa.clients() === 1, 8000, 'VSOA link');
    expect((a.state as GatewayState).vsoa.info).toEqual(INFO);
    vsoa.publish('/sensors/speed', { kmh: 12.5 });
    vsoa.publish('/status', { ok: true }, Buffer.from('raw'));
    vsoa.publish('/ignored', 1);
    await until(() => Object.keys((b.state as GatewayState).topics).length === 2, 5000, 'two topics');
    expect((b.state as GatewayState).topics).toEqual({
      '/sensors/speed': { kmh: 12.5 },
      '/status': { ok: true },
    });
    vsoa.publish('/sensors/speed', { kmh: 13 });
    await until(
      () => ((a.state as GatewayState).topics['/sensors/speed'] as { kmh: number } | undefined)?.kmh === 13,
    );
    await until(() => notes.length === 3);
    expect(notes).toEqual([
      ['/sensors/speed', { param: { kmh: 12.5 } }],
      ['/status', { param: { ok: true }, data: Buffer.from('raw').toString('base64') }],
      ['/sensors/speed', { param: { kmh: 13 } }],
    ]);
  });

  it('maps requests to RPC GET/SET and datagrams, statuses by name', async () => {
    const vsoa = await start();
    const { ws } = await startGateway(vsoa.url, { requestTimeout: 500 });
    const c = await connectJuggler(ws);
    await until(() => (c.state as GatewayState).vsoa.connected, 8000, 'VSOA link');
    expect(await c.send('/echo', { x: 1 })).toEqual({ param: { method: 0, got: { x: 1 } } });
    expect(await c.send('GET /echo', null)).toEqual({ param: { method: 0, got: null } });
    expect(await c.send('SET /echo', [1, 2])).toEqual({ param: { method: 1, got: [1, 2] } });
    expect(await c.send('GET /bytes', null)).toEqual({ param: 'b', data: 'AQID' });
    await expect(c.send('GET /fail', null)).rejects.toMatchObject({
      data: { status: Status.NO_PERMISSIONS, error: 'NO_PERMISSIONS', param: { why: 'no' } },
    });
    await expect(c.send('/nothing/here', null)).rejects.toMatchObject({
      data: { status: 3, error: 'INVALID_URL' },
    });
    await expect(c.send('GET /slow', null)).rejects.toMatchObject({ data: { error: 'TIMEOUT' } });
    await expect(c.send('PATCH /echo', null)).rejects.toMatchObject({ data: { error: 'INVALID_REQUEST' } });
    expect(await c.send('DATAGRAM /dg', { hello: 'server' })).toEqual({});
    await until(() => vsoa.received.length === 1);
    expect(vsoa.received[0]).toEqual({ url: '/dg', param: { hello: 'server' } });
  });

  it('datagrams from the VSOA server always go out as notify', async () => {
    const vsoa = await start();
    const { ws } = await startGateway(vsoa.url);
    const notes: Array<[string, JsonValue]> = [];
    const c = await connectJuggler(ws, {}, (_c, name, data) => notes.push([name, data]));
    await until(() => (c.state as GatewayState).vsoa.connected && vsoa.clients() === 1, 8000, 'VSOA link');
    vsoa.datagramToClients('/alarm', { level: 2 });
    await until(() => notes.length === 1);
    expect(notes[0]).toEqual(['/alarm', { param: { level: 2 } }]);
  });
});

describe('gateway without a VSOA server', () => {
  it('answers NOT_CONNECTED and shows the link down', async () => {
    const { ws } = await startGateway('vsoa://127.0.0.1:1');
    const c = await connectJuggler(ws);
    expect((c.state as GatewayState).vsoa.connected).toBe(false);
    const error = await c.send('/echo', null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JugglerError);
    expect((error as JugglerError).data).toEqual({ error: 'NOT_CONNECTED' });
  });

  it('publishes with quick = true land in the state too (our server)', async () => {
    const vsoa = await ourServer();
    const { ws } = await startGateway(vsoa.url);
    const c = await connectJuggler(ws);
    await until(() => (c.state as GatewayState).vsoa.connected && vsoa.clients() === 1, 8000, 'VSOA link');
    let n = 0;
    const deadline = Date.now() + 5000;
    // UDP may drop one: publish until one arrives.
    while ((c.state as GatewayState).topics['/quick'] === undefined && Date.now() < deadline) {
      vsoa.publish('/quick', ++n, undefined, true);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(typeof (c.state as GatewayState).topics['/quick']).toBe('number');
  });
});

describe('gateway: the VSOA side is a robot client', () => {
  it('shows the link going down and comes back re-subscribed when the server restarts', async () => {
    const port = await freeTcpUdpPort();
    const first = new Server({ info: 'first' });
    await first.listen(port, '127.0.0.1');
    const { ws } = await startGateway(`vsoa://127.0.0.1:${port}`, {
      subscribe: ['/s'],
      robot: { reconnDelay: 100, keepalive: 200 },
    });
    const c = await connectJuggler(ws);
    const link = () => (c.state as GatewayState).vsoa;
    await until(() => link().connected, 8000, 'first link');
    await first.close();
    await until(() => !link().connected, 8000, 'link down');
    expect(link().info).toBe(null);
    const second = new Server({ info: 'second' });
    await second.listen(port, '127.0.0.1');
    onCleanup(() => second.close());
    await until(() => link().connected && second.isSubscribed('/s'), 10_000, 'reconnected and re-subscribed');
    expect(link().info).toBe('second');
    second.publish('/s', { param: 'again' });
    await until(() => (c.state as GatewayState).topics['/s'] === 'again');
  });

  it('gives the VSOA password', async () => {
    const server = new Server({ info: 'locked', passwd: 's3cret' });
    server.command('/who', (cli, req) => cli.reply(req.seqno, { param: 'in' }));
    await server.listen(0, '127.0.0.1');
    onCleanup(() => server.close());
    const { ws } = await startGateway(`vsoa://127.0.0.1:${server.address().port}`, { passwd: 's3cret' });
    const c = await connectJuggler(ws);
    await until(() => (c.state as GatewayState).vsoa.connected, 8000, 'VSOA link');
    expect(await c.send('/who', null)).toEqual({ param: 'in' });
  });

  it('serves --static instead of the dashboard, and the dashboard with its assets otherwise', async () => {
    const here = new URL('.', import.meta.url).pathname;
    const { gateway: own } = await startGateway('vsoa://127.0.0.1:1', { staticDir: here });
    expect((await fetch(`${own.url}helpers.ts`)).status).toBe(200);
    expect((await fetch(`${own.url}uPlot.iife.min.js`)).status).toBe(404);
    const { gateway: builtIn } = await startGateway('vsoa://127.0.0.1:1');
    const index = await fetch(builtIn.url);
    expect(index.url).toBe(`${builtIn.url}index.html`);
    expect(await index.text()).toMatch(/uPlot\.iife\.min\.js/);
    const uplot = await fetch(`${builtIn.url}uPlot.iife.min.js`);
    expect(uplot.headers.get('content-type')).toMatch(/javascript/);
    expect((await uplot.text()).length).toBeGreaterThan(20_000);
  });

  it('keeps at most maxTopics distinct urls in the state', async () => {
    const vsoa = await ourServer();
    const { ws, gateway } = await startGateway(vsoa.url, { maxTopics: 2, autoflushDelay: 0 });
    const c = await connectJuggler(ws);
    await until(() => (c.state as GatewayState).vsoa.connected && vsoa.clients() === 1, 8000, 'VSOA link');
    for (const url of ['/a', '/b', '/c', '/a']) vsoa.publish(url, url);
    await until(() => gateway.stats.publishes === 4);
    await until(() => (c.state as GatewayState).topics['/a'] === '/a');
    expect(Object.keys((c.state as GatewayState).topics).sort()).toEqual(['/a', '/b']);
  });
});
