import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { PARTIAL_RESERVE_BUDGET, partialReserved } from '../../src/protocol/decode.js';
import { ErrorCode, type VsoaError } from '../../src/protocol/errors.js';
import { encodeFrame, StreamDecoder, Type } from '../../src/protocol/index.js';
import { DEFAULT_FRAME_TIMEOUT, FrameConnection } from '../../src/transport/frame-connection.js';
import { moduleLogger } from '../../src/util/log.js';
import { deferred, onCleanup, until } from '../helpers/net.js';

const log = moduleLogger('test');
/** A real header of the largest frame: 20 bytes claiming 262,144. */
const LARGEST = Buffer.concat(
  encodeFrame({ type: Type.PUBLISH, url: '/big/' }, undefined, Buffer.alloc(262_119)),
);
const HEADER = LARGEST.subarray(0, 20);

/** A loopback server wrapping each accepted socket in a FrameConnection. */
async function frameServer(frameTimeout?: number) {
  const conns: FrameConnection[] = [];
  const reasons: VsoaError[] = [];
  const packets: number[] = [];
  const server = net.createServer((socket) => {
    conns.push(
      new FrameConnection(
        socket,
        (p) => packets.push(p.data?.length ?? 0),
        (reason) => reasons.push(reason),
        {
          sendTimeout: 0,
          maxQueuedBytes: 1024 * 1024,
          log,
          ...(frameTimeout === undefined ? {} : { frameTimeout }),
        },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  onCleanup(async () => {
    for (const c of conns) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const connect = async (): Promise<net.Socket> => {
    const socket = net.connect(port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return socket;
  };
  return { conns, reasons, packets, connect };
}

describe('partial frames reserve what arrived, not what the header claims (issue 16.3)', () => {
  it('1,000 decoders each holding a 20-byte header claiming 262,144 bytes reserve little memory', () => {
    const before = process.memoryUsage().arrayBuffers;
    const decoders: StreamDecoder[] = [];
    for (let i = 0; i < 1000; i++) {
      const d = new StreamDecoder(() => {});
      expect(d.push(Buffer.from(HEADER))).toBeUndefined();
      decoders.push(d);
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(decoders.every((d) => d.midFrame && d.buffered === 20)).toBe(true);
    // 256 KiB each would be 262 MB; what arrived is 20 KB (allow generous slack for other buffers).
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });

  it('a partial packet holds no more than about 4 × what arrived of it, and completes intact', () => {
    const got: number[] = [];
    const d = new StreamDecoder((p) => got.push(p.data?.length ?? 0));
    // One big chunk: many small frames, then the first 20 bytes of a big one.
    const small = Buffer.concat(encodeFrame({ type: Type.PUBLISH, url: '/s' }, undefined, Buffer.alloc(100)));
    const chunk = Buffer.concat([...Array.from({ length: 500 }, () => small), HEADER]);
    const before = process.memoryUsage().arrayBuffers;
    d.push(chunk);
    expect(d.buffered).toBe(20);
    for (let at = 20; at < LARGEST.length; at += 65_536)
      d.push(Buffer.from(LARGEST.subarray(at, at + 65_536)));
    expect(got.length).toBe(501);
    expect(got[500]).toBe(262_119);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('whole buffers reserved ahead stay within the shared budget, and are released', () => {
    const base = partialReserved();
    const eighth = LARGEST.subarray(0, 262_144 / 8);
    const decoders: StreamDecoder[] = [];
    for (let i = 0; i < 1000; i++) {
      const d = new StreamDecoder(() => {});
      d.push(Buffer.from(eighth));
      decoders.push(d);
    }
    const reserved = decoders.reduce((sum, d) => sum + d.reserved, 0);
    // 1,000 × 256 KiB would be 262 MB: the budget caps what is reserved ahead of the bytes.
    expect(partialReserved() - base).toBeLessThanOrEqual(PARTIAL_RESERVE_BUDGET);
    expect(reserved).toBeLessThanOrEqual(PARTIAL_RESERVE_BUDGET + 1000 * eighth.length);
    expect(decoders.some((d) => d.reserved === 262_144)).toBe(true); // the fast path is used
    for (const d of decoders) d.stop();
    expect(partialReserved()).toBe(base);
  });

  it('1,000 connections each sending a 20-byte header claiming 262,144 bytes reserve little memory', async () => {
    const { conns, connect } = await frameServer();
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 1000; i++) sockets.push(await connect());
    await until(() => conns.length === 1000, 20_000, '1,000 accepted connections');
    const before = process.memoryUsage().arrayBuffers;
    for (const s of sockets) s.write(HEADER);
    // Wait until every server-side decoder holds its 20 bytes (the data has arrived).
    await until(() => conns.every((c) => c.receiveBuffered === 20), 20_000, 'every header to arrive');
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(32 * 1024 * 1024); // was 1,000 × 256 KiB = 262 MB
  }, 60_000);
});

describe('frame timeout', () => {
  it('defaults to a finite value', () => {
    expect(DEFAULT_FRAME_TIMEOUT).toBeGreaterThan(0);
    expect(DEFAULT_FRAME_TIMEOUT).toBeLessThanOrEqual(60_000);
  });

  it('closes a connection whose frame stalls mid-way longer than the frame timeout', async () => {
    const { reasons, packets, connect } = await frameServer(300);
    const socket = await connect();
    const closed = deferred();
    socket.once('close', () => closed.resolve());
    // A whole frame first (decoded), then half of the largest one, and nothing more.
    socket.write(Buffer.concat(encodeFrame({ type: Type.PUBLISH, url: '/a' }, undefined, Buffer.alloc(10))));
    socket.write(LARGEST.subarray(0, 100_000));
    const started = Date.now();
    await closed.promise;
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(packets).toEqual([10]);
    expect(reasons.map((r) => r.code)).toEqual([ErrorCode.FRAME_TIMEOUT]);
  });

  it('a stalled header (fewer than 20 bytes) counts as a stalled frame too', async () => {
    const { reasons, connect } = await frameServer(200);
    const socket = await connect();
    const closed = deferred();
    socket.once('close', () => closed.resolve());
    socket.write(HEADER.subarray(0, 7));
    await closed.promise;
    expect(reasons.map((r) => r.code)).toEqual([ErrorCode.FRAME_TIMEOUT]);
  });
});
