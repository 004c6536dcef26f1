import dgram from 'node:dgram';
import net from 'node:net';
import { encodeFrame, Flag, type FrameHead, StreamDecoder, Type } from '../../src/protocol/index.js';

/** The attack classes of the hostile suite: raw peers that lie, flood, stall and spoof. */

export const HOST = '127.0.0.1';

function frame(head: FrameHead, param?: string | Buffer, data?: Buffer): Buffer {
  return Buffer.concat(encodeFrame(head, param, data));
}

const HELLO = frame({ type: Type.SERVINFO, seqno: 0 });

/** Opens a raw TCP connection; resolves once connected (or rejects). */
export function rawConnect(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the server has closed `socket` (or after `ms`, with false). */
export function closedBy(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume(); // read (and drop) replies so the server's writes never stall
  });
}

async function withSockets(n: number, port: number, use: (s: net.Socket) => void): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, () => rawConnect(port).catch(() => undefined)),
    );
    for (const s of batch) {
      if (!s) continue;
      s.on('error', () => {});
      s.resume();
      use(s);
      sockets.push(s);
    }
  }
  return sockets;
}

function destroyAll(sockets: readonly net.Socket[]): void {
  for (const s of sockets) s.destroy();
}

/** 200 connections of random bytes and lying length fields. */
export async function garbage(port: number): Promise<void> {
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const sockets = await withSockets(200, port, (s) => {
    const bytes = Buffer.alloc(512);
    for (let i = 0; i < bytes.length; i++) bytes[i] = rand() & 0xff;
    if (rand() & 1) bytes[0] = 0x29; // a good magic, then lies
    s.write(bytes);
  });
  await Promise.all(sockets.map((s) => closedBy(s, 7000)));
  destroyAll(sockets);
}

/** After a handshake, a header that claims a full 262,144-byte frame, then silence. */
export async function halfFrames(port: number, count: number): Promise<net.Socket[]> {
  const head = frame({ type: Type.RPC, seqno: 1, url: '/echo' }, undefined, Buffer.alloc(262_119));
  return withSockets(count, port, (s) => s.write(Buffer.concat([HELLO, head.subarray(0, 20)])));
}

/** Slowloris: many connections dribbling a header one byte at a time. */
export async function slowloris(port: number, count: number, ms: number): Promise<void> {
  const head = Buffer.concat([
    HELLO,
    frame({ type: Type.RPC, seqno: 1, url: '/echo' }, undefined, Buffer.alloc(1000)),
  ]);
  const sockets = await withSockets(count, port, () => {});
  const started = Date.now();
  let offset = 0;
  while (Date.now() - started < ms && offset < head.length) {
    for (const s of sockets) if (!s.destroyed) s.write(head.subarray(offset, offset + 1));
    offset++;
    await new Promise((r) => setTimeout(r, 50));
  }
  destroyAll(sockets);
}

/** Many clients shaking hands at once, then leaving. */
export async function handshakeFlood(port: number, count: number): Promise<void> {
  const sockets = await withSockets(count, port, (s) => s.write(HELLO));
  destroyAll(sockets);
}

/** Connect, shake hands, close: `cycles` times, `parallel` at a time. */
export async function churn(port: number, cycles: number, parallel = 50): Promise<void> {
  let left = cycles;
  const worker = async (): Promise<void> => {
    while (left-- > 0) {
      const s = await rawConnect(port).catch(() => undefined);
      if (!s) continue;
      s.on('error', () => {});
      s.end(HELLO);
      await closedBy(s, 5000);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Handshakes without announcing a quick port; resolves the socket and the client id it was given. */
async function quietClient(port: number): Promise<{ socket: net.Socket; id: number }> {
  const socket = await rawConnect(port);
  socket.on('error', () => {});
  socket.write(HELLO);
  const id = await new Promise<number>((resolve, reject) => {
    const decoder = new StreamDecoder((p) => {
      if (p.type === Type.SERVINFO && p.data) resolve(p.data.readUInt32BE(0));
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.once('close', () => reject(new Error('closed before the SERVINFO reply')));
  });
  return { socket, id };
}

/**
 * UDP garbage, DATAGRAMs claiming client ids 0..99, and spoofs aimed at a real client that
 * announced no quick port (its id is known, its address is ours, the port is any other).
 */
export async function udpFloodAndSpoof(port: number, datagrams: number): Promise<void> {
  const victim = await quietClient(port);
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
  const junk = Buffer.alloc(1400, 0xab);
  const aimed = frame({ type: Type.DATAGRAM, seqno: victim.id, url: '/spoof' }, '"x"');
  for (let i = 0; i < datagrams; i++) {
    const kind = i % 3;
    const msg =
      kind === 0
        ? junk
        : kind === 1
          ? frame({ type: Type.DATAGRAM, seqno: i % 100, url: '/spoof' }, '"x"')
          : aimed;
    await new Promise<void>((r) => socket.send(msg, port, HOST, () => r()));
  }
  socket.close();
  victim.socket.destroy();
}

/**
 * RPCs whose url is 65,535 '/' characters (no password needed to send them); resolves when
 * every one was answered, with the time that took.
 */
export async function longUrls(port: number, count: number): Promise<number> {
  const s = await rawConnect(port);
  s.on('error', () => {});
  const started = Date.now();
  let replies = 0;
  const answered = new Promise<void>((resolve) => {
    const decoder = new StreamDecoder(() => {
      if (++replies === count) resolve();
    });
    s.on('data', (chunk: Buffer) => decoder.push(chunk));
    s.once('close', () => resolve());
  });
  // Each url differs, so no cache of whole urls can help.
  for (let i = 0; i < count; i++)
    s.write(frame({ type: Type.RPC, seqno: i + 1, url: '/'.repeat(0xffff - i) }));
  await answered;
  s.destroy();
  return replies === count ? Date.now() - started : Number.POSITIVE_INFINITY;
}

/** One connection sending SUBSCRIBE lists totalling `bytes` bytes; `during` runs while it is open. */
export async function subscriptionFlood<T>(
  port: number,
  bytes: number,
  during: () => Promise<T>,
): Promise<{ open: boolean; result: T }> {
  const s = await rawConnect(port);
  s.on('error', () => {});
  s.resume();
  s.write(HELLO);
  let sent = 0;
  let seq = 1;
  while (sent < bytes && !s.destroyed) {
    const urls = Array.from({ length: 4000 }, (_, i) => `/flood/${seq}/${i}/${'p'.repeat(40)}`);
    const f = frame({ type: Type.SUBSCRIBE, seqno: seq++ }, JSON.stringify(urls));
    sent += f.length;
    if (!s.write(f)) await new Promise((r) => s.once('drain', r));
  }
  // An echo on the same connection: once it is answered, every SUBSCRIBE before it was handled.
  await new Promise<void>((resolve) => {
    const decoder = new StreamDecoder((p) => {
      if (p.type === Type.RPC) resolve();
    });
    s.on('data', (chunk: Buffer) => decoder.push(chunk));
    s.once('close', () => resolve());
    s.write(frame({ type: Type.RPC, seqno: 0xffff, url: '/echo' }));
  });
  const result = await during();
  const open = !s.destroyed;
  s.destroy();
  return { open, result };
}

/** Opens the seed-style echo stream and sends for `ms` without ever reading the echo. */
export async function streamEchoFlood(ms: number, rpcTunid: () => Promise<number>): Promise<void> {
  const tunid = await rpcTunid();
  const s = await rawConnect(tunid);
  s.on('error', () => {});
  s.pause(); // never read: the echo backs up on the server
  const chunk = Buffer.alloc(64 * 1024, 1);
  const until = Date.now() + ms;
  while (Date.now() < until && !s.destroyed) {
    if (!s.write(chunk)) {
      await Promise.race([new Promise((r) => s.once('drain', r)), new Promise((r) => setTimeout(r, 100))]);
    }
  }
  s.destroy();
}

/** Wrong passwords as fast as the server answers, from one address, for `ms`; `seen` counts refusals as they come. */
export async function passwordGuessing(port: number, ms: number, seen = { refused: 0 }): Promise<number> {
  let attempts = 0;
  const until = Date.now() + ms;
  const worker = async (): Promise<void> => {
    while (Date.now() < until) {
      const s = await rawConnect(port).catch(() => undefined);
      if (!s) continue;
      s.on('error', () => {});
      attempts++;
      s.write(
        frame({ type: Type.SERVINFO, seqno: 0, flags: 0 }, JSON.stringify({ passwd: `guess${attempts}` })),
      );
      if (await closedBy(s, 2000)) seen.refused++;
      s.destroy();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return attempts;
}

/** A SERVINFO with `passwd` from `localAddress`; resolves the reply's status (or -1: none in 5 s). */
export async function handshakeFrom(localAddress: string, port: number, passwd: string): Promise<number> {
  const s = await rawConnect(port, localAddress);
  s.on('error', () => {});
  s.write(frame({ type: Type.SERVINFO, seqno: 0 }, JSON.stringify({ passwd })));
  return new Promise<number>((resolve) => {
    const timer = setTimeout(() => resolve(-1), 5000);
    s.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      s.destroy();
      resolve(
        chunk.length >= 4 && chunk[1] === Type.SERVINFO && (chunk[2] ?? 0) & Flag.REPLY
          ? (chunk[3] ?? -1)
          : -1,
      );
    });
  });
}
