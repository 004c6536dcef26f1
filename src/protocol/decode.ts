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
 * What all partial packets of the process may reserve ahead of their bytes: 32 MiB. A packet
 * gets its whole buffer (filled as chunks arrive, while they are hot in cache) once 1/8 of it
 * has arrived and this budget has room; otherwise it holds just what arrived.
 */
export const PARTIAL_RESERVE_BUDGET = 32 * 1024 * 1024;
let reservedAhead = 0;

/** Bytes reserved ahead right now by every decoder of the process (tests, diagnostics). */
export function partialReserved(): number {
  return reservedAhead;
}

/**
 * A piece of a partial packet to hold until the rest arrives. A view keeps its whole chunk
 * alive, so a small tail of a big chunk is copied: what a partial packet retains stays within
 * 4 × what the peer sent of it.
 */
function keep(piece: Buffer): Buffer {
  return piece.length * 4 < piece.buffer.byteLength ? Buffer.from(piece) : piece;
}

/**
 * Decodes a TCP/TLS byte stream fed in chunks of any size. A packet lying whole in a chunk
 * is handed over as views into that chunk. A packet split across chunks keeps views of the
 * pieces that arrived and is joined with one copy when its last byte comes: what a partial
 * packet holds is what the peer actually sent, never the length its header claims (a lying
 * header reserves 20 bytes, not 256 KiB). After a protocol error the decoder is dead.
 */
export class StreamDecoder {
  /** Staging for a header split across chunks (reused; made on first use: most connections never split one). */
  private header: Buffer | undefined;
  private headerFill = 0;
  /** The pieces of the packet being assembled (views of received chunks), and its length. */
  private pieces: Buffer[] = [];
  private piecesFill = 0;
  /** The packet's whole buffer, once reserved (see PARTIAL_RESERVE_BUDGET); then `pieces` is empty. */
  private whole: Buffer | undefined;
  private partialTotal = 0;
  private started = 0;
  private error: ProtocolError | undefined;
  private stopped = false;

  constructor(
    private readonly onPacket: (packet: Packet) => void,
    private readonly limit: number = MAX_PACKET_LENGTH,
  ) {}

  /** Bytes received of the packet not yet complete. */
  get buffered(): number {
    return this.partialTotal > 0 ? this.piecesFill : this.headerFill;
  }

  /** Bytes this decoder keeps allocated for the packet not yet complete. */
  get reserved(): number {
    return this.whole ? this.whole.length : this.buffered;
  }

  /** Whether a packet has begun and not yet ended. */
  get midFrame(): boolean {
    return this.partialTotal > 0 || this.headerFill > 0;
  }

  /** Counts packets that began in one chunk and continue in a later one (a stall detector's clock). */
  get partialsStarted(): number {
    return this.started;
  }

  get failed(): ProtocolError | undefined {
    return this.error;
  }

  /** Stops decoding: later input and the rest of the current chunk are ignored. */
  stop(): void {
    this.stopped = true;
    this.dropPartial();
  }

  /** Feeds a chunk; returns the protocol error that killed the stream, if any. */
  push(chunk: Buffer): ProtocolError | undefined {
    if (this.error || this.stopped) return this.error;
    let at = 0;
    const end = chunk.length;
    while (at < end && !this.stopped) {
      if (this.partialTotal > 0) {
        at = this.continuePartial(chunk, at);
        continue;
      }
      if (this.headerFill > 0 || end - at < HEADER_LENGTH) {
        if (this.headerFill === 0) this.started++;
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
        this.started++;
        this.partialTotal = total;
        this.pieces.push(keep(chunk.subarray(at, end)));
        this.piecesFill = end - at;
        this.maybeReserve();
        at = end;
      }
    }
    return this.error;
  }

  private continueHeader(chunk: Buffer, at: number): number {
    const n = Math.min(HEADER_LENGTH - this.headerFill, chunk.length - at);
    this.header ??= Buffer.allocUnsafe(HEADER_LENGTH);
    const header = this.header;
    chunk.copy(header, this.headerFill, at, at + n);
    this.headerFill += n;
    at += n;
    if (this.headerFill < HEADER_LENGTH) return at;
    this.headerFill = 0;
    const total = frameTotal(header, 0, this.limit);
    if (typeof total !== 'number') {
      this.fail(total);
      return chunk.length;
    }
    // A copy: the staging header is reused for the next split header.
    this.pieces.push(Buffer.from(header));
    this.piecesFill = HEADER_LENGTH;
    this.partialTotal = total;
    if (total === HEADER_LENGTH) this.emitPartial();
    return at;
  }

  private continuePartial(chunk: Buffer, at: number): number {
    const n = Math.min(this.partialTotal - this.piecesFill, chunk.length - at);
    const whole = this.whole;
    if (whole) {
      chunk.copy(whole, this.piecesFill, at, at + n);
      this.piecesFill += n;
      if (this.piecesFill === this.partialTotal) this.emitWhole(whole);
      return at + n;
    }
    this.piecesFill += n;
    if (this.piecesFill === this.partialTotal) {
      this.pieces.push(chunk.subarray(at, at + n)); // joined at once: a view will do
      this.emitPartial();
    } else {
      this.pieces.push(keep(n === chunk.length ? chunk : chunk.subarray(at, at + n)));
      this.maybeReserve();
    }
    return at + n;
  }

  /** Switches to a whole buffer once 1/8 of the packet is here and the shared budget allows. */
  private maybeReserve(): void {
    const total = this.partialTotal;
    if (this.piecesFill * 8 < total || reservedAhead + total > PARTIAL_RESERVE_BUDGET) return;
    reservedAhead += total;
    const whole = Buffer.allocUnsafe(total);
    let fill = 0;
    for (const piece of this.pieces) fill += piece.copy(whole, fill);
    this.pieces = [];
    this.whole = whole;
  }

  private emitWhole(whole: Buffer): void {
    this.dropPartial();
    this.onPacket(packetAt(whole, 0));
  }

  private emitPartial(): void {
    const whole = Buffer.allocUnsafe(this.partialTotal);
    let fill = 0;
    for (const piece of this.pieces) fill += piece.copy(whole, fill);
    this.dropPartial();
    this.onPacket(packetAt(whole, 0));
  }

  private dropPartial(): void {
    if (this.whole) {
      reservedAhead -= this.whole.length;
      this.whole = undefined;
    }
    if (this.pieces.length > 0) this.pieces = [];
    this.piecesFill = 0;
    this.partialTotal = 0;
  }

  private fail(error: ProtocolError): ProtocolError {
    this.error = error;
    this.dropPartial();
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
