import dgram from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeLoadInfo, resetNativeForTests } from '../../src/native/addon.js';
import { startBatchReceive } from '../../src/transport/quick-batch.js';
import { QuickSocket } from '../../src/transport/quick-socket.js';
import { moduleLogger } from '../../src/util/log.js';
import { deferred, onCleanup, until } from '../helpers/net.js';

/*
 * The batched quick receive (native/udp_batch.c) over real sockets: what a 'message' listener
 * sees must be what Node's own receive gives, datagram for datagram.
 */

const log = moduleLogger('test');

type Received = { msg: Buffer; from: dgram.RemoteInfo };

async function bound(type: 'udp4' | 'udp6' = 'udp4', port = 0): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type, recvBufferSize: 4 * 1024 * 1024 });
  const host = type === 'udp6' ? '::1' : '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  return socket;
}

function closeLater(socket: dgram.Socket): void {
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve(); // closed by the test
        }
      }),
  );
}

/** A datagram of `size` bytes whose content names it (index in the first two bytes). */
function datagram(index: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + index) & 0xff;
  if (size >= 2) b.writeUInt16BE(index);
  return b;
}

function collect(socket: dgram.Socket): Received[] {
  const got: Received[] = [];
  socket.on('message', (msg, from) => got.push({ msg, from }));
  return got;
}

// Sizes around the slot hand-over (over half of 64 KiB: handed over, else copied) and the limit.
const SIZES = [1, 100, 32_768, 32_769, 40_000, 65_507];
/** Bytes sent per round before waiting for them (with room for each datagram's overhead). */
const ROUND_BYTES = 128 * 1024;

describe('batched quick receive', () => {
  afterEach(() => {
    delete process.env.VSOA_NO_NATIVE;
    resetNativeForTests();
  });

  it('delivers every datagram whole, in order, with its sender, and keeps earlier ones intact', async () => {
    const receiver = await bound();
    closeLater(receiver);
    const batch = startBatchReceive(receiver, 32, (e) => {
      throw e;
    });
    expect(batch?.batch).toBe(32);
    onCleanup(() => batch?.stop());
    const got = collect(receiver);
    const a = await bound();
    const b = await bound();
    closeLater(a);
    closeLater(b);
    const sent: Array<{ data: Buffer; port: number }> = [];
    const { port } = receiver.address();
    // Each round is sent at once and queues in the kernel before the receiver runs: one
    // recvmmsg takes several, senders alternating within a batch. A round stays within the
    // kernel's default receive buffer (~208 KiB), so none is dropped where rmem_max is low.
    for (let round = 0; round < 12; round++) {
      let bytes = 0;
      while (bytes < ROUND_BYTES) {
        const index = sent.length;
        const from = (index * 5) % 3 === 0 ? a : b;
        const data = datagram(index, SIZES[index % SIZES.length] as number);
        sent.push({ data, port: from.address().port });
        from.send(data, port, '127.0.0.1');
        bytes += data.length + 1024;
      }
      await until(() => got.length === sent.length, 5000, `round ${round}`);
    }
    // Compared at the end: a slot handed over is never written again.
    got.forEach(({ msg, from }, i) => {
      const want = sent[i];
      expect(msg.equals(want?.data ?? Buffer.alloc(0)), `datagram ${i}`).toBe(true);
      expect(from).toEqual({ address: '127.0.0.1', family: 'IPv4', port: want?.port, size: msg.length });
    });
    // The batch path, not Node's: a datagram over half a slot arrives in the 64 KiB slot it was
    // read into (Node's own receive shrinks every buffer to the datagram).
    const large = got.find(({ msg }) => msg.length === 40_000);
    expect(large?.msg.buffer.byteLength).toBe(65_536);
    const small = got.find(({ msg }) => msg.length === 100);
    expect(small?.msg.buffer.byteLength).toBeLessThan(65_536);
  });

  it('reports the sender of an IPv6 datagram as Node does', async () => {
    const receiver = await bound('udp6');
    closeLater(receiver);
    const batch = startBatchReceive(receiver, 8, (e) => {
      throw e;
    });
    onCleanup(() => batch?.stop());
    expect(batch).toBeDefined();
    const got = collect(receiver);
    const sender = await bound('udp6');
    closeLater(sender);
    sender.send(datagram(7, 50_000), receiver.address().port, '::1');
    await until(() => got.length === 1);
    expect(got[0]?.from).toEqual({
      address: '::1',
      family: 'IPv6',
      port: sender.address().port,
      size: 50_000,
    });
    expect(got[0]?.msg.equals(datagram(7, 50_000))).toBe(true);
  });

  it('frees the port before the socket reports closed, whether closed through QuickSocket or directly', async () => {
    for (const direct of [false, true]) {
      const socket = await bound();
      const quick = new QuickSocket(socket, () => {}, log, 32);
      expect(quick.recvBatch).toBe(32);
      const { port } = socket.address();
      const closed = deferred();
      socket.once('close', () => closed.resolve());
      if (direct) socket.close();
      else quick.close();
      await closed.promise;
      // The receiver's dup of the descriptor would keep the port bound.
      const again = await bound('udp4', port);
      expect(again.address().port).toBe(port);
      again.close();
    }
  });

  it('starts once the socket is bound, when handed an unbound socket', async () => {
    const socket = dgram.createSocket('udp4');
    const packets: number[] = [];
    const quick = new QuickSocket(socket, (p) => packets.push(p.seqno), log, 16);
    closeLater(socket);
    expect(quick.recvBatch).toBe(0);
    const listening = deferred();
    socket.once('listening', () => listening.resolve());
    socket.bind(0, '127.0.0.1');
    await listening.promise;
    expect(quick.recvBatch).toBe(16);
  });

  it('goes on receiving after a socket error (ICMP port unreachable on a connected socket)', async () => {
    const gone = await bound();
    const deadPort = gone.address().port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const receiver = await bound();
    closeLater(receiver);
    const errors: Error[] = [];
    const batch = startBatchReceive(receiver, 4, (e) => errors.push(e));
    onCleanup(() => batch?.stop());
    const got = collect(receiver);
    await new Promise<void>((resolve) => receiver.connect(deadPort, '127.0.0.1', () => resolve()));
    receiver.send(Buffer.from('anyone?'));
    await until(() => errors.length > 0, 5000, 'the socket error');
    expect(errors[0]).toMatchObject({ code: 'ECONNREFUSED', syscall: 'recvmmsg' });
    // The peer comes back on that port: its datagrams still arrive.
    const peer = await bound('udp4', deadPort);
    closeLater(peer);
    peer.send(Buffer.from('back'), receiver.address().port, '127.0.0.1');
    await until(() => got.length === 1, 5000, 'a datagram after the error');
    expect(got[0]?.msg.toString()).toBe('back');
  });

  it('falls back to Node receiving one datagram at a time without the addon, or with 0', async () => {
    for (const mode of ['no-addon', 'zero'] as const) {
      if (mode === 'no-addon') {
        process.env.VSOA_NO_NATIVE = '1';
        resetNativeForTests();
      }
      const socket = await bound();
      const quick = new QuickSocket(socket, () => {}, log, mode === 'zero' ? 0 : 32);
      onCleanup(() => quick.close());
      expect(quick.recvBatch).toBe(0);
      const got = collect(socket);
      const sender = await bound();
      closeLater(sender);
      sender.send(datagram(1, 40_000), socket.address().port, '127.0.0.1');
      await until(() => got.length === 1);
      expect(got[0]?.msg.equals(datagram(1, 40_000))).toBe(true);
      expect(got[0]?.msg.buffer.byteLength).toBeLessThan(65_536);
    }
  });

  it('a worker ending with its receiver running exits cleanly and frees the port', async () => {
    const addon = nativeLoadInfo().path;
    expect(addon).toBeDefined();
    // The addon straight from a plain worker: its teardown closes the receiver before Node
    // unloads the addon (without the async cleanup hook the process crashed here).
    const worker = new Worker(
      `const dgram = require('node:dgram');
      const { parentPort, workerData } = require('node:worker_threads');
      const mod = { exports: {} };
      process.dlopen(mod, workerData);
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1', () => {
        const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'state symbol');
        const { handle } = s[key];
        const state = { buffers: [], meta: new Int32Array(96), addresses: [], onBatch() {}, onError() {} };
        mod.exports.udpBatchStart(handle.fd, 32, state);
        handle.recvStop();
        parentPort.postMessage(s.address().port);
      });`,
      { eval: true, workerData: addon },
    );
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(await worker.terminate()).toBe(1);
    const again = await bound('udp4', port);
    closeLater(again);
    expect(again.address().port).toBe(port);
  });
});
