import { HEADER_LENGTH, MAX_PACKET_LENGTH, MAX_QPACKET_LENGTH, padLength } from '../../protocol/index.js';

/*
 * What `vsoa bench` and `vsoa bench serve` agree on: URLs, the sequence stamp carried by quick
 * datagrams, the stats document and the payload size limits.
 */

export const ECHO_URL = '/echo';
export const QUICK_URL = '/bench/quick';
export const STATS_URL = '/bench/stats';
export const RESET_URL = '/bench/reset';

/** Largest quick sequence number: keeps the stamp at most STAMP_MAX_LENGTH bytes. */
const MAX_SEQ = 999_999_999;
/** `{"q":999999999}` */
const STAMP_MAX_LENGTH = 15;

/** Largest data size for which a frame with this url and param length fits the channel. */
function largestData(limit: number, url: string, paramLength: number): number {
  let size = limit - HEADER_LENGTH - url.length - paramLength;
  while (
    size > 0 &&
    HEADER_LENGTH + url.length + paramLength + size + padLength(size + url.length + paramLength) > limit
  )
    size--;
  return size;
}

/** Largest `/echo` request data: the whole packet within MAX_PACKET_LENGTH. */
export const MAX_RPC_SIZE = largestData(MAX_PACKET_LENGTH, ECHO_URL, 0);
/** Largest quick datagram data next to its url and sequence stamp, within one padded UDP packet. */
export const MAX_QUICK_SIZE = largestData(MAX_QPACKET_LENGTH, QUICK_URL, STAMP_MAX_LENGTH);

/**
 * The quick sequence stamp, a JSON param `{"q":N}`: JSON so that any echo server (the official
 * package parses params and sends them out again) returns it unchanged, and in the param rather
 * than the data so that a 0-byte datagram carries one too.
 */
export function encodeStamp(seq: number): Buffer {
  return Buffer.from(`{"q":${seq % (MAX_SEQ + 1)}}`, 'latin1');
}

/** The sequence number of an echoed stamp (raw bytes or parsed JSON), or -1. */
export function decodeStamp(param: unknown): number {
  if (Buffer.isBuffer(param)) {
    // {"q":123} → the digits after the colon, without a JSON parse per datagram.
    let at = param.indexOf(58); // ':'
    if (at < 0) return -1;
    let seq = 0;
    let digits = 0;
    for (at++; at < param.length; at++) {
      const c = param[at] as number;
      if (c < 48 || c > 57) break;
      seq = seq * 10 + (c - 48);
      digits++;
    }
    return digits > 0 ? seq : -1;
  }
  if (param !== null && typeof param === 'object') {
    const q = (param as { q?: unknown }).q;
    if (typeof q === 'number' && Number.isInteger(q)) return q;
  }
  return -1;
}

/** What `/bench/stats` answers (param JSON). Counters run since start or the last `/bench/reset`. */
export interface BenchStats {
  rpc: { calls: number; bytes: number };
  quick: { received: number; bytes: number; echoed: number };
  datagrams: { received: number };
  clients: number;
  sinceMs: number;
}
