import { describe, expect, it } from 'vitest';
import { Client, ConnectCode, ErrorCode, VsoaError } from '../../src/index.js';
import { Type } from '../../src/protocol/index.js';
import { connectClient, deferred, memoryLogger, onCleanup, startServer, until } from '../helpers/net.js';
import { rawVsoaServer, replyTo } from './helpers.js';

/** Records what onconnect(false, reason) and the 'disconnect' event say, once each. */
function watchLoss(client: Client) {
  const fromCallback = deferred<unknown>();
  const fromEvent = deferred<VsoaError>();
  client.onconnect = (_c, connected, reason) => {
    if (!connected) fromCallback.resolve(reason);
  };
  // Typed: the listener's argument is a VsoaError without a cast.
  client.on('disconnect', (reason) => fromEvent.resolve(reason));
  return {
    async reason(): Promise<VsoaError> {
      const [a, b] = await Promise.all([fromCallback.promise, fromEvent.promise]);
      expect(a).toBe(b);
      expect(b).toBeInstanceOf(VsoaError);
      return b;
    },
  };
}

describe('close reasons reach the application', () => {
  it('peer closed: the server closes the connection', async () => {
    const { server, url } = await startServer();
    const client = await connectClient(url);
    const loss = watchLoss(client);
    for (const cli of server.clients()) cli.close();
    expect((await loss.reason()).code).toBe(ErrorCode.PEER_CLOSED);
  });

  it('local close: disconnect() and close()', async () => {
    const { url } = await startServer();
    const client = await connectClient(url);
    const first = watchLoss(client);
    client.disconnect();
    expect((await first.reason()).code).toBe(ErrorCode.LOCAL_CLOSE);
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    const second = watchLoss(client);
    client.close();
    expect((await second.reason()).code).toBe(ErrorCode.LOCAL_CLOSE);
  });

  it('socket error: the server resets the connection', async () => {
    const raw = await rawVsoaServer();
    const client = await connectClient(`vsoa://127.0.0.1:${raw.port}`);
    const loss = watchLoss(client);
    raw.sockets[0]?.resetAndDestroy();
    const reason = await loss.reason();
    expect(reason.code).toBe(ErrorCode.SOCKET);
    expect((reason.cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });

  it('protocol error: a hostile server sends bytes that are not VSOA after the handshake', async () => {
    const raw = await rawVsoaServer();
    const client = await connectClient(`vsoa://127.0.0.1:${raw.port}`);
    const loss = watchLoss(client);
    raw.sockets[0]?.write(Buffer.alloc(40, 0x55));
    const reason = await loss.reason();
    expect(reason.code).toBe(ErrorCode.PROTOCOL);
    expect(reason.message).toMatch(/BAD_MAGIC/);
  });

  it('send timeout: a server that stops reading while the client writes', async () => {
    const raw = await rawVsoaServer();
    const client = await connectClient(`vsoa://127.0.0.1:${raw.port}`);
    client.sendTimeout(100);
    const loss = watchLoss(client);
    raw.freeze();
    // Fill the kernel's buffers both ways; the client's own queue then makes no progress.
    const big = { data: Buffer.alloc(200_000, 1) };
    await until(
      () => {
        client.datagram('/flood', big);
        return !client.connected;
      },
      10_000,
      'the send timeout',
    );
    expect((await loss.reason()).code).toBe(ErrorCode.SEND_TIMEOUT);
  });

  it('a full send queue is no close reason: the request is refused and the link kept', async () => {
    const raw = await rawVsoaServer();
    const client = await connectClient(`vsoa://127.0.0.1:${raw.port}`);
    raw.freeze();
    const big = { data: Buffer.alloc(200_000, 1) };
    let accepted = 0;
    while (accepted < 1000 && client.call('/x', { payload: big }, () => {})) accepted++;
    expect(accepted).toBeLessThan(1000); // 8 MiB of our own queue, then refusals
    const refused = (await client.fetch('/x', { payload: big }).catch((e) => e)) as VsoaError;
    expect(refused.code).toBe(ErrorCode.SEND_QUEUE_FULL);
    expect(client.connected).toBe(true);
  });

  it('ping lost: the robot resets the link and says why, in stats, callbacks and logs', async () => {
    let answer = true;
    const raw = await rawVsoaServer((p, socket) => {
      if (p.type === Type.PINGECHO && answer) socket.write(replyTo(p));
    });
    const { logger, lines } = memoryLogger();
    const client = new Client({ logger });
    onCleanup(() => client.close());
    const loss = deferred<VsoaError>();
    client.onconnect = (_c, connected, reason) => {
      if (!connected) loss.resolve(reason as VsoaError);
    };
    client.robot(`vsoa://127.0.0.1:${raw.port}`, { keepalive: 50, pingLost: 1, reconnDelay: 10 });
    await until(() => client.robotStats()?.state === 'connected');
    answer = false;
    const reason = await loss.promise;
    expect(reason.code).toBe(ErrorCode.PING_LOST);
    expect(client.robotStats()?.lastCloseReason?.code).toBe(ErrorCode.PING_LOST);
    const logged = lines().find((l) => l.msg === 'robot lost the connection');
    expect(logged).toMatchObject({ code: ErrorCode.PING_LOST });
  });

  it('a seed-style two-argument onconnect keeps working', async () => {
    const { server, url } = await startServer();
    const client = new Client();
    onCleanup(() => client.close());
    const states: boolean[] = [];
    client.onconnect = (_c, connected) => states.push(connected);
    expect(await client.connect(url)).toBe(ConnectCode.OK);
    for (const cli of server.clients()) cli.close();
    await until(() => states.length === 2);
    expect(states).toEqual([true, false]);
  });
});
