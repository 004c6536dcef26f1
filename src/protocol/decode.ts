import {
  FLAGS_MASK,
  HEADER_LENGTH,
  MAGIC_VERSION,
  MAX_PACKET_LENGTH,
  MAX_QPACKET_LENGTH,
  padLength,
} from './constants.js';
import { ProtocolError } from './errors.js';
import type { Packet } from './packet.js';

/**
 * Validates the header at `at` and returns the packet's total length, or a ProtocolError.
 * Never trusts a length beyond `limit`, so nothing is allocated for a lying peer.
 */
function frameTotal(buf: Buffer, at: number, limit: number): number | ProtocolError {
  if (buf[at] !== MAGIC_VERSION) {
    return new ProtocolError('BAD_MAGIC', `bad magic/version byte 0x${(buf[at] ?? 0).toString(16)}`);
  }
  const unpadded =
    HEADER_LENGTH + buf.readUInt16BE(at + 10) + buf.readUInt32BE(at + 12) + buf.readUInt32BE(at + 16);
  // Size first: an oversized header is TOO_LARGE whatever its pad bits say.
  const total = unpadded + padLength(unpadded);
  if (total > limit) {
    return new ProtocolError('TOO_LARGE', `packet length ${total} exceeds the limit of ${limit} bytes`);
  }
  const pad = (buf[at + 2] ?? 0) >>> 6;
  if (pad !== padLength(unpadded)) {
    return new ProtocolError('BAD_PAD', `pad count ${pad} does not fit a ${unpadded}-byte packet`);
  }
  return total;
}

/** Builds the packet whose (already validated) header starts at `at`; fields are views into `buf`. */
function packetAt(buf: Buffer, at: number): Packet {
  const urlLen = buf.readUInt16BE(at + 10);
  const paramLen = buf.readUInt32BE(at + 12);
  const dataLen = buf.readUInt32BE(at + 16);
  const urlStart = at + HEADER_LENGTH;
  const paramStart = urlStart + urlLen;
  const dataStart = paramStart + paramLen;
  return {
    type: buf[at + 1] as number,
    flags: (buf[at + 2] as number) & FLAGS_MASK,
    status: buf[at + 3] as number,
    seqno: buf.readUInt32BE(at + 4),
    tunid: buf.readUInt16BE(at + 8),
    url: urlLen === 0 ? '' : buf.toString('utf8', urlStart, paramStart),
    param: paramLen === 0 ? undefined : buf.subarray(paramStart, dataStart),
    data: dataLen === 0 ? undefined : buf.subarray(dataStart, dataStart + dataLen),
  };
}

/**
 * Decodes a TCP/TLS byte stream fed in chunks of any size. A packet lying whole in a chunk
 * is handed over as views into that chunk; only a packet split across chunks is assembled,
 * into one buffer sized once from its header. After a protocol error the decoder is dead.
 */
export class StreamDecoder {
  /** Staging for a header split across chunks (reused). */
  private readonly header = Buffer.allocUnsafe(HEADER_LENGTH);
  private headerFill = 0;
  /** The packet being assembled, when one is split across chunks. */
  private partial: Buffer | undefined;
  private partialFill = 0;
  private error: ProtocolError | undefined;
  private stopped = false;

  constructor(
    private readonly onPacket: (packet: Packet) => void,
    private readonly limit: number = MAX_PACKET_LENGTH,
  ) {}

  /** Bytes held while waiting for the rest of a packet. */
  get buffered(): number {
    return this.partial ? this.partialFill : this.headerFill;
  }

  get failed(): ProtocolError | undefined {
    return this.error;
  }

  /** Stops decoding: later input and the rest of the current chunk are ignored. */
  stop(): void {
    this.stopped = true;
    this.partial = undefined;
  }

  /** Feeds a chunk; returns the protocol error that killed the stream, if any. */
  push(chunk: Buffer): ProtocolError | undefined {
    if (this.error || this.stopped) return this.error;
    let at = 0;
    const end = chunk.length;
    while (at < end && !this.stopped) {
      if (this.partial) {
        at = this.continuePartial(chunk, at);
        continue;
      }
      if (this.headerFill > 0 || end - at < HEADER_LENGTH) {
        at = this.continueHeader(chunk, at);
        continue;
      }
      const total = frameTotal(chunk, at, this.limit);
      if (typeof total !== 'number') return this.fail(total);
      if (end - at >= total) {
        const packet = packetAt(chunk, at);
        at += total;
        this.onPacket(packet);
      } else {
        this.partial = Buffer.allocUnsafe(total);
        this.partialFill = chunk.copy(this.partial, 0, at, end);
        at = end;
      }
    }
    return this.error;
  }

  private continueHeader(chunk: Buffer, at: number): number {
    const n = Math.min(HEADER_LENGTH - this.headerFill, chunk.length - at);
    chunk.copy(this.header, this.headerFill, at, at + n);
    this.headerFill += n;
    at += n;
    if (this.headerFill < HEADER_LENGTH) return at;
    this.headerFill = 0;
    const total = frameTotal(this.header, 0, this.limit);
    if (typeof total !== 'number') {
      this.fail(total);
      return chunk.length;
    }
    this.partial = Buffer.allocUnsafe(total);
    this.partialFill = this.header.copy(this.partial, 0, 0, HEADER_LENGTH);
    if (total === HEADER_LENGTH) this.emitPartial();
    return at;
  }

  private continuePartial(chunk: Buffer, at: number): number {
    const partial = this.partial as Buffer;
    const n = Math.min(partial.length - this.partialFill, chunk.length - at);
    chunk.copy(partial, this.partialFill, at, at + n);
    this.partialFill += n;
    if (this.partialFill === partial.length) this.emitPartial();
    return at + n;
  }

  private emitPartial(): void {
    const packet = packetAt(this.partial as Buffer, 0);
    this.partial = undefined;
    this.partialFill = 0;
    this.onPacket(packet);
  }

  private fail(error: ProtocolError): ProtocolError {
    this.error = error;
    this.partial = undefined;
    return error;
  }
}

/**
 * Decodes one quick-channel datagram. The datagram must hold exactly one packet; the
 * trailing pad may be missing. Views into `buf` are returned, so copy before reusing it.
 */
export function decodeDatagram(buf: Buffer, limit: number = MAX_QPACKET_LENGTH): Packet | ProtocolError {
  if (buf.length < HEADER_LENGTH) {
    return new ProtocolError('TRUNCATED', `datagram of ${buf.length} bytes is shorter than a header`);
  }
  const total = frameTotal(buf, 0, limit);
  if (typeof total !== 'number') return total;
  const unpadded = total - ((buf[2] as number) >>> 6);
  if (buf.length < unpadded || buf.length > total) {
    return new ProtocolError(
      'TRUNCATED',
      `datagram of ${buf.length} bytes does not hold a ${total}-byte packet`,
    );
  }
  return packetAt(buf, 0);
}
