import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { encodeFrame, Type } from '../../src/protocol/index.js';
import { FrameConnection } from '../../src/transport/frame-connection.js';
import { moduleLogger } from '../../src/util/log.js';
import { onCleanup } from '../helpers/net.js';

/** A connected loopback pair with our FrameConnection on the accepted end. */
async function pair(): Promise<{ conn: FrameConnection; socket: net.Socket }> {
  const accepted = new Promise<net.Socket>((resolve) => {
    const server = net.createServer((s) => resolve(s));
    server.listen(0, '127.0.0.1', () => {
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      onCleanup(() => {
        client.destroy();
        server.close();
      });
    });
  });
  const socket = await accepted;
  const conn = new FrameConnection(
    socket,
    () => {},
    () => {},
    {
      sendTimeout: 0,
      maxQueuedBytes: 64 * 1024 * 1024,
      log: moduleLogger('test'),
    },
  );
  onCleanup(() => conn.destroy());
  return { conn, socket };
}

describe('FrameConnection writes', () => {
  it("writes a tick's first frame at once and the rest of the tick in a single writev", async () => {
    const { conn, socket } = await pair();
    const socketWrites = socket as unknown as { _writev: () => void; _write: () => void };
    const writev = vi.spyOn(socketWrites, '_writev');
    const write = vi.spyOn(socketWrites, '_write');
    for (let i = 0; i < 10; i++) conn.send(encodeFrame({ type: Type.PUBLISH, url: '/t' }, `${i}`));
    // The first frame (a lone call or reply: no wait for the tick's end) is one write now.
    expect(write).toHaveBeenCalledTimes(1);
    expect(writev).not.toHaveBeenCalled();
    await new Promise((r) => process.nextTick(r));
    expect(writev).toHaveBeenCalledTimes(1);
    expect(write).toHaveBeenCalledTimes(1);
    // A new tick: its first frame is again written at once.
    conn.send(encodeFrame({ type: Type.PUBLISH, url: '/t' }, 'next'));
    expect(write).toHaveBeenCalledTimes(2);
  });

  it('hands a big burst to the kernel before the tick ends, and delivers every frame whole', async () => {
    const { conn, socket } = await pair();
    const writev = vi.spyOn(socket as unknown as { _writev: () => void }, '_writev');
    const data = Buffer.alloc(200 * 1024, 7);
    for (let i = 0; i < 4; i++) conn.send(encodeFrame({ type: Type.PUBLISH, url: '/big' }, undefined, data));
    expect(writev.mock.calls.length).toBeGreaterThanOrEqual(1);
    await new Promise((r) => process.nextTick(r));
    expect(writev.mock.calls.length).toBeGreaterThanOrEqual(2);
  });
});
