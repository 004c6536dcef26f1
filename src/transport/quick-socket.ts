import dgram from 'node:dgram';
import type { FrameHead, Packet, WireParam } from '../protocol/index.js';
import {
  decodeDatagram,
  encodeFrame,
  encodeFrameInto,
  MAX_QPACKET_LENGTH,
  passesByReference,
} from '../protocol/index.js';
import { integer } from '../util/check.js';
import type { Logger } from '../util/log.js';
import { moduleLogger } from '../util/log.js';
import { syncIpLookup } from './address.js';
import { type BatchReceiver, startBatchReceive } from './quick-batch.js';

export type QuickPacketHandler = (packet: Packet, from: dgram.RemoteInfo) => void;

/**
 * The receive buffer a quick socket asks the kernel for (SO_RCVBUF), in bytes: 32 MiB, room for
 * about 500 packets of the largest size (65,507 B), 6-8 ms of them flat out on loopback. The
 * kernel default (~208 KiB on Linux) holds three, and 4 MiB still lost 37-48% flat out beside two
 * busy loops in the bench (32 MiB: 0.1-4.5%): a receiver sharing its CPU is descheduled for whole
 * time slices. It is a cap, not an allocation: the kernel charges only what is queued. The
 * kernel caps the request at `net.core.rmem_max` (logged once per process); raise that sysctl
 * to get it. 0 keeps the kernel default.
 */
export const DEFAULT_QUICK_RECV_BUFFER_SIZE = 32 * 1024 * 1024;

/** Largest request accepted: 1 GiB (the kernel caps far below it anyway). */
const MAX_QUICK_RECV_BUFFER_SIZE = 1024 * 1024 * 1024;

export interface QuickSocketOptions {
  /** SO_RCVBUF to request, bytes (default DEFAULT_QUICK_RECV_BUFFER_SIZE; 0: kernel default). */
  recvBufferSize?: number;
  /**
   * When a capped request is reported: 'bound' (a server: at start, where an operator looks) or
   * 'received' (a client: at its first quick datagram, so a CLI call that never receives one
   * does not warn about a buffer it does not use). Default 'bound'.
   */
  reportCap?: 'bound' | 'received';
}

/** What each socket asked for, so the granted size can be compared once it is bound. */
const requested = new WeakMap<dgram.Socket, number>();
let cappedLogged = false;

/** Validates a `recvBufferSize` option (named for the error) and applies the default. */
export function quickRecvBufferSize(value: unknown, name = 'recvBufferSize'): number {
  return integer(value, name, DEFAULT_QUICK_RECV_BUFFER_SIZE, 0, MAX_QUICK_RECV_BUFFER_SIZE);
}

/**
 * The receive buffer the kernel granted a bound socket (what getsockopt(SO_RCVBUF) reports:
 * Linux reports twice the usable size it reserved for bookkeeping), or undefined before bind.
 */
export function grantedRecvBufferSize(socket: dgram.Socket): number | undefined {
  try {
    return socket.getRecvBufferSize();
  } catch {
    return undefined; // not bound yet, or closed
  }
}

/** Linux doubles SO_RCVBUF on set and reports the doubled figure; other kernels report it as set. */
function isCapped(granted: number, asked: number): boolean {
  return granted < (process.platform === 'linux' ? 2 * asked : asked);
}

function isBound(socket: dgram.Socket): boolean {
  try {
    socket.address();
    return true;
  } catch {
    return false;
  }
}

function checkGranted(socket: dgram.Socket): void {
  const asked = requested.get(socket);
  if (asked === undefined || asked === 0 || cappedLogged) return;
  const granted = grantedRecvBufferSize(socket);
  if (granted === undefined || !isCapped(granted, asked)) return;
  cappedLogged = true;
  moduleLogger('quick').warn(
    { requested: asked, granted },
    'quick receive buffer capped by the kernel (raise net.core.rmem_max for more)',
  );
}

/**
 * The quick (UDP) channel: one datagram per packet. A small packet is encoded into one reusable
 * frame buffer; a large payload (the TCP rule: data over 4 KiB, a byte param over 2 KiB) is not
 * copied but sent as a second iovec of the same datagram (`sendmsg`), which saves a 64 KiB copy
 * per packet. `send()` hands the bytes to the kernel synchronously (see syncIpLookup); only when
 * the kernel queue was full does libuv keep a reference: then a fresh frame buffer is taken for
 * the next packet, and a large payload stays referenced until sent (hence the ownership rule).
 */
export class QuickSocket {
  private frame = Buffer.allocUnsafe(MAX_QPACKET_LENGTH);
  /** The last encoded frame, made once per encode and shared by every send of it. */
  private encoded: Buffer | Buffer[] = this.frame.subarray(0, 0);

  private receiver: BatchReceiver | undefined;
  private closed = false;

  /**
   * `recvBatch` > 0 reads up to that many datagrams per system call once the socket is bound
   * (see startBatchReceive); without the addon, or with 0, Node reads them one at a time.
   */
  constructor(
    readonly socket: dgram.Socket,
    onPacket: QuickPacketHandler,
    log: Logger,
    recvBatch = 0,
  ) {
    socket.on('message', (msg, rinfo) => {
      const packet = decodeDatagram(msg);
      if (!(packet instanceof Error)) {
        try {
          onPacket(packet, rinfo);
        } catch (error) {
          log.error({ err: error }, 'quick packet handler threw');
        }
      } else {
        log.debug({ from: rinfo.address, port: rinfo.port, code: packet.code }, 'dropped bad quick datagram');
      }
    });
    const onError = (error: Error): void => log.debug({ err: error }, 'quick socket error');
    socket.on('error', onError);
    if (recvBatch > 0) this.batchWhenBound(recvBatch, log, onError);
  }

  /** `onError` takes the batch receiver's socket errors, as the 'error' listener takes Node's. */
  private batchWhenBound(batch: number, log: Logger, onError: (error: Error) => void): void {
    const start = (): void => {
      if (this.closed) return;
      this.receiver = startBatchReceive(this.socket, batch, onError);
      if (this.receiver === undefined) log.debug('quick batch receive unavailable; one datagram per call');
    };
    if (isBound(this.socket)) start();
    else this.socket.once('listening', start);
    // A socket closed directly, not through close(), releases the receiver's descriptor too.
    this.socket.once('close', () => this.stopBatch());
  }

  private stopBatch(): void {
    this.closed = true;
    this.receiver?.stop();
    this.receiver = undefined;
  }

  /** Datagrams read per system call: 0 while Node reads them one at a time. */
  get recvBatch(): number {
    return this.receiver?.batch ?? 0;
  }

  /**
   * A UDP socket for the quick channel. Node applies `recvBufferSize` when the socket binds
   * (explicitly, or implicitly on its first send); the granted size is checked then.
   */
  static create(type: 'udp4' | 'udp6', options: QuickSocketOptions = {}): dgram.Socket {
    const size = quickRecvBufferSize(options.recvBufferSize, 'options.recvBufferSize');
    const socket = dgram.createSocket({
      type,
      lookup: syncIpLookup as never,
      ...(size > 0 ? { recvBufferSize: size } : {}),
    });
    requested.set(socket, size);
    // A once listener: nothing is left on the receive path after the first datagram.
    socket.once(options.reportCap === 'received' ? 'message' : 'listening', () => checkGranted(socket));
    return socket;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** The receive buffer the kernel granted (see grantedRecvBufferSize), undefined before bind. */
  get recvBufferSize(): number | undefined {
    return grantedRecvBufferSize(this.socket);
  }

  /** The receive buffer this socket asked for (0: the kernel default). */
  get requestedRecvBufferSize(): number {
    return requested.get(this.socket) ?? 0;
  }

  /** Encodes one frame (see the class comment); throws RangeError past the quick limit. */
  encode(head: FrameHead, param: WireParam, data: Uint8Array | undefined): void {
    if (passesByReference(param, data)) {
      this.encoded = encodeFrame(head, param, data, MAX_QPACKET_LENGTH);
      return;
    }
    if (this.socket.getSendQueueCount() > 0) this.frame = Buffer.allocUnsafe(MAX_QPACKET_LENGTH);
    this.encoded = this.frame.subarray(0, encodeFrameInto(this.frame, head, param, data, MAX_QPACKET_LENGTH));
  }

  /** Sends the last encoded frame to one peer. */
  sendEncoded(port: number, address: string): boolean {
    try {
      this.socket.send(this.encoded, port, address);
      return true;
    } catch {
      return false;
    }
  }

  send(
    head: FrameHead,
    param: WireParam,
    data: Uint8Array | undefined,
    port: number,
    address: string,
  ): boolean {
    this.encode(head, param, data);
    return this.sendEncoded(port, address);
  }

  close(): void {
    this.stopBatch();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
