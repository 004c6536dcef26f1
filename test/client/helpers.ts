import net from 'node:net';
import { encodeFrame, type Packet, StreamDecoder, Type } from '../../src/protocol/index.js';
import { onCleanup } from '../helpers/net.js';

export function servInfoReply(seqno: number, cid = 1, info = '"raw"'): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(cid);
  return Buffer.concat(encodeFrame({ type: Type.SERVINFO, flags: 1, seqno }, info, id));
}

export function replyTo(p: Packet, status = 0): Buffer {
  return Buffer.concat(encodeFrame({ type: p.type, flags: 1, seqno: p.seqno, status }));
}

export interface RawServer {
  port: number;
  /** Every accepted connection, newest last. */
  sockets: net.Socket[];
  /** While frozen, connections are accepted (the kernel's backlog) but nothing is read or answered. */
  freeze(): void;
  thaw(): void;
}

/**
 * A raw TCP peer on 127.0.0.1 that completes the handshake (unless frozen), then hands every
 * other packet to `onPacket`. Closed after the test.
 */
export async function rawVsoaServer(
  onPacket: (p: Packet, socket: net.Socket) => void = () => {},
): Promise<RawServer> {
  const sockets: net.Socket[] = [];
  let frozen = false;
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    if (frozen) socket.pause();
    const decoder = new StreamDecoder((p) => {
      if (p.type === Type.SERVINFO) socket.write(servInfoReply(p.seqno));
      else onPacket(p, socket);
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
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    freeze() {
      frozen = true;
      for (const s of sockets) s.pause();
    },
    thaw() {
      frozen = false;
      for (const s of sockets) s.resume();
    },
  };
}
