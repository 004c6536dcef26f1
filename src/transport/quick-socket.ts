import dgram from 'node:dgram';
import type { FrameHead, Packet, WireParam } from '../protocol/index.js';
import { decodeDatagram, encodeFrameInto, MAX_QPACKET_LENGTH } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { syncIpLookup } from './address.js';

export type QuickPacketHandler = (packet: Packet, from: dgram.RemoteInfo) => void;

/**
 * The quick (UDP) channel: one datagram per packet, encoded into one reusable frame buffer.
 * `send()` hands the buffer to the kernel synchronously (see syncIpLookup); only when the
 * kernel queue was full and libuv kept a reference is a fresh buffer taken for the next frame.
 */
export class QuickSocket {
  private frame = Buffer.allocUnsafe(MAX_QPACKET_LENGTH);
  /** The last encoded frame: a view made once per encode, shared by every send of it. */
  private encoded: Buffer = this.frame.subarray(0, 0);

  constructor(
    readonly socket: dgram.Socket,
    onPacket: QuickPacketHandler,
    log: Logger,
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
    socket.on('error', (error) => log.debug({ err: error }, 'quick socket error'));
  }

  static create(type: 'udp4' | 'udp6'): dgram.Socket {
    return dgram.createSocket({ type, lookup: syncIpLookup as never });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Encodes one frame into the reusable buffer; throws RangeError past the quick limit. */
  encode(head: FrameHead, param: WireParam, data: Uint8Array | undefined): void {
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
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
