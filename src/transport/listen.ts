import type dgram from 'node:dgram';
import net from 'node:net';
import { untilBound } from './bound.js';
import type { QuickSocketOptions } from './quick-socket.js';
import { QuickSocket, quickRecvBufferSize } from './quick-socket.js';

export interface BoundPair {
  listener: net.Server;
  udp: dgram.Socket | undefined;
  port: number;
}

function listenOn(listener: net.Server, port: number, host: string): Promise<void> {
  return untilBound(listener, (done) => listener.listen(port, host, done));
}

function bindUdp(socket: dgram.Socket, port: number, host: string): Promise<void> {
  return untilBound(socket, (done) => socket.bind({ port, address: host, exclusive: true }, done));
}

function closeQuietly(listener: net.Server): Promise<void> {
  return new Promise((resolve) => listener.close(() => resolve()));
}

/**
 * Binds the TCP (or TLS) listener and the quick UDP socket on one port. Port 0 picks a port
 * free for both, so the quick port always equals the TCP port and every implementation's
 * client finds it. `udp: false` (TLS) binds TCP only. `quick.recvBufferSize` is the quick
 * socket's SO_RCVBUF request (see QuickSocket.create).
 */
export async function bindPair(
  makeListener: () => net.Server,
  port: number,
  host: string,
  udp: boolean,
  quick: QuickSocketOptions = {},
): Promise<BoundPair> {
  const type = net.isIPv6(host) ? 'udp6' : 'udp4';
  // Validated before anything is bound, so a bad option leaks no listener.
  const recvBufferSize = quickRecvBufferSize(quick.recvBufferSize, 'options.recvBufferSize');
  const attempts = port === 0 ? 32 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const listener = makeListener();
    await listenOn(listener, port, host);
    const bound = (listener.address() as net.AddressInfo).port;
    if (!udp) return { listener, udp: undefined, port: bound };
    const socket = QuickSocket.create(type, { recvBufferSize });
    try {
      await bindUdp(socket, bound, host);
      return { listener, udp: socket, port: bound };
    } catch (error) {
      lastError = error;
      socket.close();
      await closeQuietly(listener);
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port !== 0) throw error;
    }
  }
  throw lastError;
}
