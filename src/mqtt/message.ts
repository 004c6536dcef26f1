import { crc32 } from './crc32.js';

/** One VSOA publish on its way up, as the queue keeps it. */
export interface UpMessage {
  url: string;
  /** The param as received (JSON text bytes); absent when the publish carried none. */
  param?: Buffer | undefined;
  /** The data bytes; absent when the publish carried none. */
  data?: Buffer | undefined;
  quick: boolean;
  /** When the bridge received it (ms since the epoch). */
  time: number;
}

/*
 * A stored record: [u32 body length][u32 CRC-32 of the body][body], little-endian. Body:
 * u8 version, u8 flags (1 param, 2 data, 4 quick), f64 seq, f64 time, u16 url length, url,
 * u32 param length, param, data (the rest). The length and checksum let a reader find a torn
 * or damaged record after a crash and stop there instead of misreading what follows.
 */
export const RECORD_HEADER = 8;
const VERSION = 1;
const FIXED_BODY = 1 + 1 + 8 + 8 + 2 + 4;
/** No record is larger (a VSOA packet is at most 256 KiB): a bigger length means damage. */
export const MAX_RECORD_BODY = 1024 * 1024;

export function encodeRecord(seq: number, m: UpMessage): Buffer {
  const url = Buffer.from(m.url, 'utf8');
  const paramLength = m.param?.length ?? 0;
  const dataLength = m.data?.length ?? 0;
  const bodyLength = FIXED_BODY + url.length + paramLength + dataLength;
  const out = Buffer.allocUnsafe(RECORD_HEADER + bodyLength);
  let at = RECORD_HEADER;
  out.writeUInt32LE(bodyLength, 0);
  out[at++] = VERSION;
  out[at++] = (m.param ? 1 : 0) | (m.data ? 2 : 0) | (m.quick ? 4 : 0);
  out.writeDoubleLE(seq, at);
  at += 8;
  out.writeDoubleLE(m.time, at);
  at += 8;
  out.writeUInt16LE(url.length, at);
  at += 2;
  at += url.copy(out, at);
  out.writeUInt32LE(paramLength, at);
  at += 4;
  if (m.param) at += m.param.copy(out, at);
  if (m.data) m.data.copy(out, at);
  out.writeUInt32LE(crc32(out, RECORD_HEADER), 4);
  return out;
}

export type ReadResult =
  | { kind: 'record'; seq: number; message: UpMessage; size: number }
  /** Not enough bytes yet for a whole record (the end of a file, or of a read chunk). */
  | { kind: 'short' }
  | { kind: 'bad'; reason: string };

/** Reads the record at `at` in `buf` (bytes up to `end` are valid). Never throws on bad bytes. */
export function readRecord(buf: Buffer, at: number, end: number): ReadResult {
  if (end - at < RECORD_HEADER) return { kind: 'short' };
  const bodyLength = buf.readUInt32LE(at);
  if (bodyLength < FIXED_BODY || bodyLength > MAX_RECORD_BODY) return { kind: 'bad', reason: 'bad length' };
  const size = RECORD_HEADER + bodyLength;
  if (end - at < size) return { kind: 'short' };
  const bodyStart = at + RECORD_HEADER;
  if (crc32(buf, bodyStart, at + size) !== buf.readUInt32LE(at + 4))
    return { kind: 'bad', reason: 'bad checksum' };
  let p = bodyStart;
  if (buf[p++] !== VERSION) return { kind: 'bad', reason: 'unknown version' };
  const flags = buf[p++] as number;
  const seq = buf.readDoubleLE(p);
  p += 8;
  const time = buf.readDoubleLE(p);
  p += 8;
  const urlLength = buf.readUInt16LE(p);
  p += 2;
  if (p + urlLength + 4 > at + size) return { kind: 'bad', reason: 'bad url length' };
  const url = buf.toString('utf8', p, p + urlLength);
  p += urlLength;
  const paramLength = buf.readUInt32LE(p);
  p += 4;
  if (p + paramLength > at + size) return { kind: 'bad', reason: 'bad param length' };
  // Copies: the caller's read buffer is reused.
  const message: UpMessage = { url, quick: (flags & 4) !== 0, time };
  if (flags & 1) message.param = Buffer.from(buf.subarray(p, p + paramLength));
  p += paramLength;
  if (flags & 2) message.data = Buffer.from(buf.subarray(p, at + size));
  return { kind: 'record', seq, message, size };
}

/** What a message costs in the store (its record size), for the byte bound. */
export function recordSize(m: UpMessage): number {
  return (
    RECORD_HEADER + FIXED_BODY + Buffer.byteLength(m.url) + (m.param?.length ?? 0) + (m.data?.length ?? 0)
  );
}
