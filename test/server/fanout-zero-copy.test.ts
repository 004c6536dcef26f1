import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import type { RemoteClient } from '../../src/index.js';
import { encodeFrame, Type } from '../../src/protocol/index.js';
import { onCleanup, startServer, until } from '../helpers/net.js';

/** Raw subscribers: handshake and subscribe to /fan, then read and discard. */
async function subscribers(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const socket = net.connect(port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    socket.on('error', () => {});
    socket.resume();
    for (const b of encodeFrame({ type: Type.SERVINFO })) socket.write(b);
    for (const b of encodeFrame({ type: Type.SUBSCRIBE, seqno: 1, url: '/fan' })) socket.write(b);
  }
}

describe('fan-out', () => {
  it('encodes a 256 KiB publish once: every subscriber gets the same buffers, no payload copy', async () => {
    const { server, port } = await startServer();
    await subscribers(port, 100);
    await until(() => server.clients().filter((c) => c.isSubscribed('/fan')).length === 100);
    const data = Buffer.alloc(262119, 5);

    const frames: Array<readonly Buffer[]> = [];
    for (const cli of server.clients() as RemoteClient[]) {
      const send = cli.conn.send.bind(cli.conn);
      vi.spyOn(cli.conn, 'send').mockImplementation((frame) => {
        frames.push(frame);
        return send(frame);
      });
    }
    const big: number[] = [];
    for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'from', 'concat'] as const) {
      const original = Buffer[name] as (...args: never[]) => Buffer;
      vi.spyOn(Buffer, name).mockImplementation(((...args: never[]) => {
        const result = original.apply(Buffer, args);
        if (result.length >= 64 * 1024) big.push(result.length);
        return result;
      }) as never);
    }
    const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
    expect(server.publish('/fan', { data })).toBe(true);
    const arrayBuffersGrowth = process.memoryUsage().arrayBuffers - arrayBuffersBefore;
    vi.restoreAllMocks();

    expect(frames).toHaveLength(100);
    expect(new Set(frames).size).toBe(1); // the very same frame list for everyone
    expect(frames[0]).toContain(data); // carrying the caller's own buffer
    expect(big).toEqual([]);
    // A copy per subscriber would be 100 × 256 KiB ≈ 25 MiB of new backing stores.
    expect(arrayBuffersGrowth).toBeLessThan(1024 * 1024);
  });
});
