import { describe, expect, it } from 'vitest';
import type { RemoteClient } from '../../src/index.js';
import {
  getSockOptInt,
  IP_TOS,
  IPPROTO_IP,
  IPPROTO_TCP,
  nativeStatus,
  SO_KEEPALIVE,
  SO_PRIORITY,
  SOL_SOCKET,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
} from '../../src/transport/sockopt.js';
import { connectClient, deferred, startServer, until } from '../helpers/net.js';
import { connectOfficialClient } from '../interop/official.js';

const native = nativeStatus().addon;

describe.runIf(native)('socket options through Server and Client (native addon)', () => {
  it('priority 5 on a RemoteClient: IP_TOS 0xA8 and SO_PRIORITY 5 on both ends, TCP and UDP; 0 resets', async () => {
    const { server, url } = await startServer();
    const client = await connectClient(url);
    const cli = server.clients()[0] as RemoteClient;
    for (const [p, tos] of [
      [5, 0xa8],
      [0, 0],
    ] as const) {
      const got = deferred<number>();
      client.once('priority', (value: number) => got.resolve(value));
      cli.priority = p;
      expect(await got.promise).toBe(p);
      const { tcp, udp } = client.sockets;
      for (const sock of [cli.conn.socket, tcp, udp]) {
        expect(sock).toBeDefined();
        expect(getSockOptInt(sock as NonNullable<typeof sock>, IPPROTO_IP, IP_TOS)).toBe(tos);
        expect(getSockOptInt(sock as NonNullable<typeof sock>, SOL_SOCKET, SO_PRIORITY)).toBe(p);
      }
    }
  });

  it('priority on our server reaches the official client, which still works', async () => {
    const { server, url } = await startServer();
    server.command('/echo', (c, req, payload) => c.reply(req.seqno, payload));
    await connectOfficialClient(url);
    await until(() => server.count() === 1);
    const cli = server.clients()[0] as RemoteClient;
    cli.priority = 5;
    expect(getSockOptInt(cli.conn.socket, IPPROTO_IP, IP_TOS)).toBe(0xa8);
    expect(getSockOptInt(cli.conn.socket, SOL_SOCKET, SO_PRIORITY)).toBe(5);
  });

  it('keepalive(idleMs) on a RemoteClient sets SO_KEEPALIVE, idle = interval in seconds, 3 probes', async () => {
    const { server, url } = await startServer();
    await connectClient(url);
    const cli = server.clients()[0] as RemoteClient;
    cli.keepalive(2500);
    const sock = cli.conn.socket;
    expect(getSockOptInt(sock, SOL_SOCKET, SO_KEEPALIVE)).toBe(1);
    expect(getSockOptInt(sock, IPPROTO_TCP, TCP_KEEPIDLE)).toBe(3);
    expect(getSockOptInt(sock, IPPROTO_TCP, TCP_KEEPINTVL)).toBe(3);
    expect(getSockOptInt(sock, IPPROTO_TCP, TCP_KEEPCNT)).toBe(3);
    expect(() => cli.keepalive(-1)).toThrow(RangeError);
  });

  it('client.linger(0): the server sees a reset, not a FIN, when the client disconnects', async () => {
    const { server, url } = await startServer();
    const client = await connectClient(url);
    const cli = server.clients()[0] as RemoteClient;
    const error = deferred<NodeJS.ErrnoException>();
    cli.conn.socket.on('error', (e: NodeJS.ErrnoException) => error.resolve(e));
    expect(client.linger(0)).toBe(true);
    client.disconnect();
    expect((await error.promise).code).toBe('ECONNRESET');
  });
});
