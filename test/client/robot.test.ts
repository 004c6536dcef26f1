import { rmSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Client, Server, VsoaError } from '../../src/index.js';
import { encodeFrame, type Packet, StreamDecoder, Type } from '../../src/protocol/index.js';
import { collector, deferred, onCleanup, startServer, until } from '../helpers/net.js';
import { positionServer } from '../helpers/position.js';
import { closeOfficialServer, freeTcpUdpPort, startOfficialServer } from '../interop/official.js';
import { makePki } from '../tls/pki.js';

function robotClient(): Client {
  const client = new Client();
  onCleanup(() => client.close());
  return client;
}

function waitConnected(client: Client): Promise<void> {
  return new Promise((resolve) => {
    if (client.connected && client.robotStats()?.state === 'connected') resolve();
    else client.once('connect', () => until(() => client.robotStats()?.state === 'connected').then(resolve));
  });
}

/** A raw TCP peer that completes the handshake, then hands every packet to `onPacket`. */
async function rawVsoaServer(onPacket: (p: Packet, socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const decoder = new StreamDecoder((p) => {
      if (p.type === Type.SERVINFO) {
        const id = Buffer.alloc(4);
        socket.write(
          Buffer.concat(encodeFrame({ type: Type.SERVINFO, flags: 1, seqno: p.seqno }, '"raw"', id)),
        );
      } else onPacket(p, socket);
    });
    socket.on('data', (c) => decoder.push(c));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

describe('robot: reconnects and re-subscribes', () => {
  it('survives a server restart on the same port; publishes resume with no application code', async () => {
    const first = new Server();
    await first.listen(0, '127.0.0.1');
    const { port } = first.address();
    const client = robotClient();
    const got = collector<string>(2);
    client.onmessage = (_c, url, p) => got.push(`${url} ${String(p.param)}`);
    const states: boolean[] = [];
    client.onconnect = (_c, up) => states.push(up);
    const subscribed = deferred<boolean>();
    client.robot(`vsoa://127.0.0.1:${port}`, { keepalive: 200, reconnDelay: 20 });
    expect(client.subscribe(['/a', '/b/'], (_c, ok) => subscribed.resolve(ok))).toBe(true);
    expect(await subscribed.promise).toBe(true);
    expect(first.isSubscribed('/b/x')).toBe(true);
    first.publish('/a', { param: 1 });
    await until(() => got.items.length === 1);
    await first.close();
    await until(() => client.robotStats()?.state !== 'connected');
    const second = new Server();
    await second.listen(port, '127.0.0.1');
    onCleanup(() => second.close());
    await until(() => second.isSubscribed('/b/x'), 5000, 're-subscribe');
    second.publish('/b/x', { param: 2 });
    expect(await got.done).toEqual(['/a 1', '/b/x 2']);
    expect(states).toEqual([true, false, true]);
    await until(() => client.robotStats()?.state === 'connected');
    expect(client.robotStats()).toMatchObject({ connects: 2, disconnects: 1, state: 'connected' });
  });

  it('does the same against the official vsoa server', async () => {
    const port = await freeTcpUdpPort();
    const first = await startOfficialServer({}, port);
    const client = robotClient();
    const got = collector<unknown>(2);
    client.onmessage = (_c, _url, p) => got.push(p.param);
    client.robot(first.url, { keepalive: 200, reconnDelay: 20 });
    client.subscribe('/topic');
    await waitConnected(client);
    await until(() => first.server.isSubscribed('/topic'));
    first.server.publish('/topic', { param: { n: 1 } });
    await until(() => got.items.length === 1);
    await closeOfficialServer(first.server);
    await until(() => !client.connected);
    const again = await startOfficialServer({}, port);
    await until(() => again.server.isSubscribed('/topic'), 5000, 're-subscribe at the official server');
    again.server.publish('/topic', { param: { n: 2 } });
    expect(await got.done).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('subscribe/unsubscribe while reconnecting update the held set and call back at the next connect', async () => {
    const probe = await startServer();
    const port = probe.port;
    await probe.server.close();
    const client = robotClient();
    client.robot(`vsoa://127.0.0.1:${port}`, { reconnDelay: 20, connTimeout: 200 });
    const results: string[] = [];
    expect(client.subscribe('/x', (_c, ok) => results.push(`sub ${ok}`))).toBe(true);
    expect(client.subscribe('/y')).toBe(true);
    expect(client.unsubscribe('/y', (_c, ok) => results.push(`unsub ${ok}`))).toBe(true);
    expect(client.subscriptions).toEqual(['/x']);
    expect(client.call('/echo', {}, () => {})).toBe(false);
    const error = await client.fetch('/echo').catch((e: VsoaError) => e);
    expect(error).toBeInstanceOf(VsoaError);
    expect((error as VsoaError).message).toMatch(/not connected/);
    const server = new Server();
    await server.listen(port, '127.0.0.1');
    onCleanup(() => server.close());
    await until(() => results.length === 2);
    expect(results).toEqual(['sub true', 'unsub true']);
    expect(server.isSubscribed('/x')).toBe(true);
    expect(server.isSubscribed('/y')).toBe(false);
  });
});

describe('robot: arguments', () => {
  it('rejects bad urls and options with errors naming them, and runs once per client', async () => {
    const { url } = await startServer();
    const client = robotClient();
    expect(() => client.robot([])).toThrow(/non-empty list/);
    expect(() => client.robot(url, { keepalive: 10 })).toThrow(/options\.keepalive/);
    expect(() => client.robot(url, { connTimeout: -1 })).toThrow(/options\.connTimeout/);
    expect(() => client.robot(url, { pingLost: 1.5 })).toThrow(/options\.pingLost/);
    expect(() => client.robotPingTurbo(10)).toThrow(/turboMs/); // checked before robot() too
    client.robot(url, { reconnDelay: 20 });
    expect(() => client.robot(url)).toThrow(/already running/);
    await waitConnected(client);
    expect(() => client.robotPingTurbo(50, 0)).toThrow(/maxCnt/);
  });
});

describe('robot: over TLS', () => {
  it('connects, reconnects and re-subscribes with the tls option', async () => {
    const pki = makePki();
    onCleanup(() => rmSync(pki.dir, { recursive: true, force: true }));
    const tls = { cert: pki.serverCert, key: pki.serverKey };
    const first = new Server();
    await first.listen(0, '127.0.0.1', tls);
    const { port } = first.address();
    const client = robotClient();
    client.robot(`vsoa://127.0.0.1:${port}`, { reconnDelay: 20, tls: { caCert: pki.caCert } });
    client.subscribe('/secure');
    await waitConnected(client);
    expect(client.getPeerCert()).not.toBeNull();
    await first.close();
    const second = new Server();
    await second.listen(port, '127.0.0.1', tls);
    onCleanup(() => second.close());
    await until(() => second.isSubscribed('/secure'), 5000, 're-subscribe over TLS');
  });
});

describe('robot: liveness', () => {
  it('resets and reconnects when more than pingLost pings in a row are lost', async () => {
    let pings = 0;
    const port = await rawVsoaServer((p) => {
      if (p.type === Type.PINGECHO) pings++;
    });
    const client = robotClient();
    const lost: number[] = [];
    client.on('robot-ping-lost', (n: number) => lost.push(n));
    client.robot(`vsoa://127.0.0.1:${port}`, { keepalive: 50, reconnDelay: 10 });
    await until(() => (client.robotStats()?.connects ?? 0) >= 2, 5000, 'a reconnect');
    expect(lost.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(pings).toBeGreaterThanOrEqual(4);
    expect(client.robotStats()).toMatchObject({ disconnects: 1 });
  });

  it('fails pending calls at once when the connection drops', async () => {
    const { server, url } = await startServer();
    server.command('/never', () => {});
    const client = robotClient();
    client.robot(url, { reconnDelay: 1000 });
    await waitConnected(client);
    const failed = client.fetch('/never', { timeout: 60_000 }).catch((e: VsoaError) => e);
    const started = Date.now();
    for (const cli of server.clients()) cli.close();
    const error = (await failed) as VsoaError;
    expect(error.code).toBe('ERR_VSOA_NOT_CONNECTED');
    expect(error.message).toMatch(/connection lost/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails over to the next server, and every round starts again from the first', async () => {
    const dead = await startServer();
    const deadPort = dead.port;
    await dead.server.close();
    const second = await startServer();
    const client = robotClient();
    client.robot([`vsoa://127.0.0.1:${deadPort}`, second.url], { reconnDelay: 20, connTimeout: 500 });
    await waitConnected(client);
    expect(client.robotStats()?.server).toBe(second.url);
    const first = new Server();
    await first.listen(deadPort, '127.0.0.1');
    onCleanup(() => first.close());
    await second.server.close();
    await until(() => client.robotStats()?.server === `vsoa://127.0.0.1:${deadPort}` && client.connected);
    expect(first.count()).toBe(1);
  });

  it('resolves names again on every reconnect, following a position-table change', async () => {
    const a = await startServer({ info: 'A' });
    const b = await startServer({ info: 'B' });
    const position = await positionServer([{ name: 'svc', domain: 2, addr: '127.0.0.1', port: a.port }]);
    const client = robotClient();
    const infos: unknown[] = [];
    client.onconnect = (_c, up, info) => up && infos.push(info);
    client.robot('vsoa://svc/', { reconnDelay: 20 });
    await until(() => infos.length === 1);
    position.setTable([{ name: 'svc', domain: 2, addr: '127.0.0.1', port: b.port }]);
    await a.server.close();
    await until(() => infos.length === 2);
    expect(infos).toEqual(['A', 'B']);
  });
});

describe('robot: turbo pings', () => {
  it('sends NOOPs only while an RPC is pending, at most maxCnt per pending period', async () => {
    const seen: Array<[string, number]> = [];
    let answer: (() => void) | undefined;
    const port = await rawVsoaServer((p, socket) => {
      if (p.type === Type.NOOP) seen.push(['noop', Date.now()]);
      if (p.type === Type.PINGECHO)
        socket.write(Buffer.concat(encodeFrame({ type: Type.PINGECHO, flags: 1, seqno: p.seqno })));
      if (p.type === Type.RPC) {
        seen.push(['rpc', Date.now()]);
        answer = () => socket.write(Buffer.concat(encodeFrame({ type: Type.RPC, flags: 1, seqno: p.seqno })));
      }
    });
    const client = robotClient();
    client.robot(`vsoa://127.0.0.1:${port}`, { keepalive: 1000 });
    await waitConnected(client);
    expect(() => client.robotPingTurbo(10)).toThrow(RangeError);
    expect(() => client.robotPingTurbo(2000)).toThrow(RangeError);
    expect(client.robotPingTurbo(25, 4)).toBe(true);
    const pong = deferred();
    client.ping(() => pong.resolve());
    await pong.promise;
    expect(seen).toEqual([]);
    const reply = client.fetch('/slow');
    await until(() => seen.filter(([k]) => k === 'noop').length === 4, 3000, 'four NOOPs');
    const noops = seen.filter(([k]) => k === 'noop').map(([, t]) => t);
    const rpcAt = (seen[0] as [string, number])[1];
    expect(noops[0] as number).toBeGreaterThanOrEqual(rpcAt);
    // maxCnt caps the period: wait for more than one more turbo interval, then look again.
    await new Promise((r) => setTimeout(r, 120));
    expect(seen.filter(([k]) => k === 'noop')).toHaveLength(4);
    answer?.();
    await reply;
    const after = seen.length;
    const pong2 = deferred();
    setTimeout(() => client.ping(() => pong2.resolve()), 100);
    await pong2.promise;
    expect(seen).toHaveLength(after);
  });
});

describe('robot: no leaks', () => {
  it('leaves no sockets, timers or listeners behind after 1000 reconnect cycles', async () => {
    const { server, url } = await startServer();
    server.onclient = (cli, up) => up && cli.close();
    const count = (what: string) => process.getActiveResourcesInfo().filter((r) => r === what).length;
    const before = { tcp: count('TCPSocketWrap'), udp: count('UDPWrap'), timers: count('Timeout') };
    const client = new Client();
    const listenersBefore = client.eventNames().length;
    client.robot(url, { reconnDelay: 0, keepalive: 10_000 });
    await until(() => (client.robotStats()?.connects ?? 0) >= 1000, 60_000, '1000 reconnects');
    client.close();
    await until(() => server.count() === 0);
    await until(
      () => count('TCPSocketWrap') <= before.tcp && count('UDPWrap') <= before.udp,
      5000,
      'sockets released',
    );
    expect(count('Timeout')).toBeLessThanOrEqual(before.timers + 1);
    expect(client.eventNames().length).toBe(listenersBefore);
  }, 90_000);
});
