import {
  FLAGS_MASK,
  Flag,
  HEADER_LENGTH,
  MAGIC_VERSION,
  MAX_PACKET_LENGTH,
  MAX_URL_LENGTH,
  padLength,
} from './constants.js';
import { allocHead } from './slab.js';

/** Header fields of a packet to encode; absent numbers are 0. */
export interface FrameHead {
  type: number;
  flags?: number;
  status?: number;
  seqno?: number;
  tunid?: number;
  url?: string;
}

/**
 * A param ready for the wire: raw bytes, or JSON text that the encoder writes as UTF-8
 * straight into the head (no intermediate Buffer).
 */
export type WireParam = Uint8Array | string | undefined;

/** Zero pad bytes shared by every packet: sockets never write into what they send. */
const ZERO = Buffer.alloc(3);
const PADS: readonly Buffer[] = [ZERO.subarray(0, 0), ZERO.subarray(0, 1), ZERO.subarray(0, 2), ZERO];

/** Param bytes up to this size are copied into the head: one small copy beats one more iovec. */
const INLINE_PARAM_BYTES = 2048;
/**
 * Data up to this size is copied into the head as well: for a small frame one buffer and one
 * write cost less than a writev of several. Larger data is never copied.
 */
const INLINE_DATA_BYTES = 4096;

/**
 * Whether encodeFrame passes the payload through by reference (a list of several buffers)
 * rather than copying it into the head: a byte param over 2 KiB or data over 4 KiB.
 */
export function passesByReference(param: WireParam, data: Uint8Array | undefined): boolean {
  return !inlinesParam(param) || (data !== undefined && data.byteLength > INLINE_DATA_BYTES);
}

/** A JSON text param is always written into the head; a byte param up to 2 KiB is copied there. */
function inlinesParam(param: WireParam): boolean {
  return param === undefined || typeof param === 'string' || param.byteLength <= INLINE_PARAM_BYTES;
}

function urlByteLength(url: string): number {
  const n = url.length === 0 ? 0 : Buffer.byteLength(url, 'utf8');
  if (n > MAX_URL_LENGTH) {
    throw new RangeError(`url is ${n} bytes long; the url length field allows at most ${MAX_URL_LENGTH}`);
  }
  return n;
}

function paramByteLength(param: WireParam): number {
  if (param === undefined) return 0;
  return typeof param === 'string' ? Buffer.byteLength(param, 'utf8') : param.byteLength;
}

function checkLimit(total: number, limit: number): void {
  if (total > limit) {
    const channel = limit === MAX_PACKET_LENGTH ? 'MAX_PACKET_LENGTH' : 'MAX_QPACKET_LENGTH';
    throw new RangeError(`packet is ${total} bytes; the channel limit ${channel} is ${limit} bytes`);
  }
}

function writeHeader(
  buf: Buffer,
  at: number,
  head: FrameHead,
  pad: number,
  urlLen: number,
  paramLen: number,
  dataLen: number,
): void {
  buf[at] = MAGIC_VERSION;
  buf[at + 1] = head.type;
  buf[at + 2] = ((head.flags ?? 0) & FLAGS_MASK) | (pad << 6);
  buf[at + 3] = head.status ?? 0;
  buf.writeUInt32BE((head.seqno ?? 0) >>> 0, at + 4);
  buf.writeUInt16BE(head.tunid ?? 0, at + 8);
  buf.writeUInt16BE(urlLen, at + 10);
  buf.writeUInt32BE(paramLen, at + 12);
  buf.writeUInt32BE(dataLen, at + 16);
}

/** Writes a url of `n` UTF-8 bytes; short ASCII ones by hand, cheaper than Buffer#write's checks. */
function writeUrl(buf: Buffer, at: number, url: string, n: number): number {
  if (n === url.length && n <= 64) {
    for (let i = 0; i < n; i++) buf[at + i] = url.charCodeAt(i);
    return at + n;
  }
  return at + buf.write(url, at, n, 'utf8');
}

/** Zeroes 0-3 pad bytes; a loop beats Buffer#fill at this size. */
function zeroPad(buf: Buffer, at: number, pad: number): void {
  for (let i = 0; i < pad; i++) buf[at + i] = 0;
}

function writeBytes(buf: Buffer, at: number, src: Uint8Array): number {
  buf.set(src, at);
  return at + src.byteLength;
}

/**
 * Encodes a packet for a byte stream as a list of buffers to write in order (cork, write
 * each, uncork). The head (header, url, small param, small data) comes from a slab; larger
 * `data` and a large byte param are passed through untouched, never copied. Throws RangeError
 * past `limit`.
 */
export function encodeFrame(
  head: FrameHead,
  param?: WireParam,
  data?: Uint8Array,
  limit: number = MAX_PACKET_LENGTH,
): Buffer[] {
  const url = head.url ?? '';
  const urlLen = urlByteLength(url);
  const paramLen = paramByteLength(param);
  const dataLen = data === undefined ? 0 : data.byteLength;
  const unpadded = HEADER_LENGTH + urlLen + paramLen + dataLen;
  const pad = padLength(unpadded);
  checkLimit(unpadded + pad, limit);

  const inlineParam = inlinesParam(param);
  const inlineData = !passesByReference(param, data);
  const headLen = HEADER_LENGTH + urlLen + (inlineParam ? paramLen : 0) + (inlineData ? dataLen + pad : 0);
  const buf = allocHead(headLen);
  writeHeader(buf, 0, head, pad, urlLen, paramLen, dataLen);
  let at = HEADER_LENGTH;
  if (urlLen > 0) at = writeUrl(buf, at, url, urlLen);
  if (inlineParam && paramLen > 0) {
    at =
      typeof param === 'string'
        ? at + buf.write(param, at, paramLen, 'utf8')
        : writeBytes(buf, at, param as Uint8Array);
  }

  if (inlineData) {
    if (dataLen > 0) at = writeBytes(buf, at, data as Uint8Array);
    zeroPad(buf, at, pad);
    return [buf];
  }
  // Array literals of the exact length: growing an array by push() allocates room for 17.
  const tail = pad > 0 ? (PADS[pad] as Buffer) : undefined;
  if (inlineParam) {
    const d = asBuffer(data as Uint8Array);
    return tail ? [buf, d, tail] : [buf, d];
  }
  const p = asBuffer(param as Uint8Array);
  if (dataLen === 0) return tail ? [buf, p, tail] : [buf, p];
  const d = asBuffer(data as Uint8Array);
  return tail ? [buf, p, d, tail] : [buf, p, d];
}

/**
 * Encodes a whole packet into `target` from offset 0 (the quick channel's reusable
 * datagram buffer) and returns its length. Throws RangeError past `limit` or the target's size.
 */
export function encodeFrameInto(
  target: Buffer,
  head: FrameHead,
  param: WireParam,
  data: Uint8Array | undefined,
  limit: number,
): number {
  const url = head.url ?? '';
  const urlLen = urlByteLength(url);
  const paramLen = paramByteLength(param);
  const dataLen = data === undefined ? 0 : data.byteLength;
  const unpadded = HEADER_LENGTH + urlLen + paramLen + dataLen;
  const pad = padLength(unpadded);
  const total = unpadded + pad;
  checkLimit(total, Math.min(limit, target.length));
  writeHeader(target, 0, head, pad, urlLen, paramLen, dataLen);
  let at = HEADER_LENGTH;
  if (urlLen > 0) at = writeUrl(target, at, url, urlLen);
  if (paramLen > 0) {
    at =
      typeof param === 'string'
        ? at + target.write(param, at, paramLen, 'utf8')
        : writeBytes(target, at, param as Uint8Array);
  }
  if (dataLen > 0) at = writeBytes(target, at, data as Uint8Array);
  zeroPad(target, at, pad);
  return total;
}

/** Total encoded size of a frame list. */
export function frameLength(frame: readonly Uint8Array[]): number {
  let n = 0;
  for (const b of frame) n += b.byteLength;
  return n;
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * A reply frame: the request's type and seqno with the REPLY flag (and TUNNEL with a tunid),
 * a status, and an optional payload. Every reply either side sends is built here.
 */
export function replyFrame(
  type: number,
  seqno: number,
  status = 0,
  param?: WireParam,
  data?: Uint8Array,
  tunid = 0,
): Buffer[] {
  return encodeFrame(
    { type, flags: tunid ? Flag.REPLY | Flag.TUNNEL : Flag.REPLY, status, seqno, tunid },
    param,
    data,
  );
}
