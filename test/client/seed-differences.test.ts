import { describe, expect, it } from 'vitest';
import { Client, ConnectCode, Server } from '../../src/index.js';
import { encodeFrame, type Packet, Type } from '../../src/protocol/index.js';
import { connectClient, deferred, onCleanup, startServer, until } from '../helpers/net.js';
import { rawVsoaServer, replyTo } from './helpers.js';

/* Issue 15: the seed's remaining differences on the client side. */

describe('client.close() closes the streams the client created', () => {
  it("closes a linked stream and a stream still connecting; the server's end sees the close", async () => {
    const { server, url } = await startServer();
    const serverLinks: boolean[] = [];
    const serverStream = server.createStream((_s, up) => serverLinks.push(up));
    onCleanup(() => serverStream.destroy());
    const client = await connectClient(url);
    const clientLinks: boolean[] = [];
    const linked = client.createStream(serverStream.tunid, (_s, up) => clientLinks.push(up));
    await until(() => serverLinks.includes(true) && clientLinks.includes(true), 5000, 'the stream link');
    // A second stream to a port where nobody listens yet: still connecting when close() comes.
    const idle = server.createStream(() => {});
    onCleanup(() => idle.destroy());
    const connecting = client.createStream(idle.tunid, () => {}, undefined, 60_000);
    client.close();
    await until(() => serverLinks.includes(false), 5000, "the server's end to see the close");
    await until(
      () => clientLinks.includes(false) && connecting.destroyed,
      5000,
      'both client streams closed',
    );
    expect(linked.connected).toBe(false);
    expect(() => client.createStream(serverStream.tunid, () => {})).toThrow(/closed/);
  });
});

describe('robotPingTurbo() before robot()', () => {
  it('returns true and the setting applies when the robot starts', async () => {
    let noops = 0;
    let answer: (() => void) | undefined;
    const raw = await rawVsoaServer((p, socket) => {
      if (p.type === Type.NOOP) noops++;
      if (p.type === Type.PINGECHO) socket.write(replyTo(p));
      if (p.type === Type.RPC) answer = () => socket.write(replyTo(p));
    });
    const client = new Client();
    onCleanup(() => client.close());
    expect(client.robotPingTurbo(25, 3)).toBe(true);
    client.robot(`vsoa://127.0.0.1:${raw.port}`, { keepalive: 1000 });
    await until(() => client.robotStats()?.state === 'connected');
    const reply = client.fetch('/slow');
    await until(() => noops === 3 && answer !== undefined, 3000, 'three turbo NOOPs');
    answer?.();
    await reply;
  });

  it('a turbo above the keepalive is refused when robot() starts, naming robotPingTurbo', () => {
    const client = new Client();
    onCleanup(() => client.close());
    expect(client.robotPingTurbo(2000)).toBe(true); // no keepalive to compare with yet
    expect(() => client.robot('vsoa://127.0.0.1:1', { keepalive: 1000 })).toThrow(/turboMs .*keepalive/);
  });
});

describe('subscribe() before robot() or connect()', () => {
  it('returns true, subscribes at the first connect and calls back with the answer', async () => {
    const { server, url } = await startServer();
    const client = new Client();
    onCleanup(() => client.close());
    const result = deferred<boolean>();
    const connected = deferred<boolean>();
    expect(client.subscribe('/early', (_c, ok) => result.resolve(ok && server.isSubscribed('/early')))).toBe(
      true,
    );
    client.onconnect = (_c, up) => up && connected.resolve(server.isSubscribed('/early'));
    client.robot(url, { reconnDelay: 20 });
    expect(await result.promise).toBe(true);
    expect(await connected.promise).toBe(true); // subscribed before onconnect(true)
  });

  it('without a robot too: the held subscription is sent at the next connect()', async () => {
    const { server, url } = await startServer();
    const client = new Client();
    onCleanup(() => client.close());
    const result = deferred<boolean>();
    expect(client.subscribe(['/a', '/b/'], (_c, ok) => result.resolve(ok))).toBe(true);
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    expect(await result.promise).toBe(true);
    expect(server.isSubscribed('/b/x')).toBe(true);
  });

  it('a client closed before it connected calls the held callbacks back with false', async () => {
    const client = new Client();
    const result = deferred<boolean>();
    expect(client.subscribe('/x', (_c, ok) => result.resolve(ok))).toBe(true);
    client.close();
    expect(await result.promise).toBe(false);
    expect(client.subscribe('/y')).toBe(false);
  });
});

describe('a reply of the wrong type during connect', () => {
  it('ends connect at once with INVALID_RESPONDING instead of waiting out the timeout', async () => {
    const { createServer } = await import('node:net');
    const { StreamDecoder } = await import('../../src/protocol/index.js');
    const server = createServer((socket) => {
      socket.on('error', () => {});
      const decoder = new StreamDecoder((p: Packet) => {
        // A well-formed reply, with the handshake's seqno, of another type.
        socket.write(Buffer.concat(encodeFrame({ type: Type.PINGECHO, flags: 1, seqno: p.seqno })));
      });
      socket.on('data', (c) => decoder.push(c));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise<void>((r) => server.close(() => r())));
    const { port } = server.address() as import('node:net').AddressInfo;
    const client = new Client();
    onCleanup(() => client.close());
    const started = Date.now();
    expect(await client.connect(`vsoa://127.0.0.1:${port}`, { timeout: 10_000 })).toBe(
      ConnectCode.INVALID_RESPONDING,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(client.connected).toBe(false);
  });

  it('a QOSSETUP before the SERVINFO reply is still taken (it is not a reply to anything we sent)', async () => {
    const server = new Server();
    server.onclient = (cli, up) => {
      if (up) cli.priority = 3;
    };
    await server.listen(0, '127.0.0.1');
    onCleanup(() => server.close());
    const client = await connectClient(`vsoa://127.0.0.1:${server.address().port}`);
    await until(() => client.priority === 3);
  });
});
