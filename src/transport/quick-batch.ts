import type dgram from 'node:dgram';
import { loadNative, type UdpBatchHandle, type UdpBatchState } from '../native/addon.js';
import { integer } from '../util/check.js';
import { socketFd, stopDgramReceive } from './sockopt.js';

/** Most datagrams one receive call takes (MAX_BATCH in native/udp_batch.c). */
export const MAX_QUICK_RECV_BATCH = 64;

/**
 * Quick datagrams a server reads per system call: 32, as many as libuv reads per wakeup. Node's
 * dgram makes one recvmsg() and one callback into JavaScript (with its tick and microtask
 * processing) per datagram; batching cut the server's CPU per 64 KiB datagram flat out from 14.5
 * to 10.5 µs in an A/B (bench/results/2026-12-07-vm-quick-batch.md). Each receiver keeps that many 64 KiB slots
 * (2 MiB at 32, touched as used).
 */
export const DEFAULT_QUICK_RECV_BATCH = 32;

/** Meta flag: addresses[i] holds a sender address differing from the previous datagram's. */
const NEW_ADDRESS = 8;

/** Validates a `recvBatch` option (named for the error); 0 means Node's own receive. */
export function quickRecvBatch(value: unknown, name: string, fallback: number): number {
  return integer(value, name, fallback, 0, MAX_QUICK_RECV_BATCH);
}

export interface BatchReceiver {
  /** Datagrams per receive call. */
  readonly batch: number;
  /** Stops reading and closes the receiver's descriptor; idempotent. */
  stop(): void;
}

/**
 * Takes over the receive of a bound dgram socket: the addon reads up to `batch` datagrams per
 * recvmmsg() from a dup of its descriptor and each is emitted as 'message' on the socket with the
 * arguments Node gives (a Buffer of its own, `{ address, family, port, size }`), so listeners
 * see no difference. Sending stays with Node. A socket error is passed to `onError`, as Node
 * emits one, and the receive goes on. Undefined when it cannot (no addon or one without it, no
 * descriptor, a Node.js keeping its handle elsewhere): Node's own receive then goes on.
 */
export function startBatchReceive(
  socket: dgram.Socket,
  batch: number,
  onError: (error: Error) => void,
): BatchReceiver | undefined {
  const addon = loadNative();
  const start = addon?.udpBatchStart;
  const stop = addon?.udpBatchStop;
  const fd = socketFd(socket);
  if (start === undefined || stop === undefined || fd === undefined || batch < 1) return undefined;
  let stopped = false;
  let address = '';
  const state: UdpBatchState = {
    buffers: new Array<Buffer | undefined>(batch).fill(undefined),
    meta: new Int32Array(3 * batch),
    addresses: new Array<string | undefined>(batch).fill(undefined),
    onBatch(count) {
      const { buffers, meta, addresses } = state;
      for (let i = 0, m = 0; i < count; i++, m += 3) {
        const buffer = buffers[i];
        buffers[i] = undefined;
        const size = meta[m] as number;
        const flags = meta[m + 2] as number;
        if ((flags & NEW_ADDRESS) !== 0) {
          address = addresses[i] ?? '';
          addresses[i] = undefined;
        }
        // A truncated datagram (larger than 64 KiB: IPv6 jumbograms only) is dropped.
        if (stopped || buffer === undefined || size < 0) continue;
        const family = (flags & 7) === 6 ? 'IPv6' : 'IPv4';
        const msg = size === buffer.length ? buffer : buffer.subarray(0, size);
        socket.emit('message', msg, { address, family, port: meta[m + 1] as number, size });
      }
    },
    onError: (error) => {
      if (!stopped) onError(error);
    },
  };
  let handle: UdpBatchHandle;
  try {
    handle = start(fd, batch, state);
  } catch (error) {
    onError(error as Error);
    return undefined;
  }
  if (!stopDgramReceive(socket)) {
    stop(handle);
    return undefined;
  }
  return {
    batch,
    stop() {
      if (stopped) return;
      stopped = true;
      stop(handle);
    },
  };
}
