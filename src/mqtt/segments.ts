import { closeSync, ftruncateSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import { readRecord } from './message.js';

/** One segment file of a DiskQueue: records firstSeq .. nextSeq-1, `bytes` long. */
export interface Segment {
  path: string;
  firstSeq: number;
  nextSeq: number;
  bytes: number;
}

const NAME = /^seg-(\d{16})\.log$/;

export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, '0')}.log`;
}

export interface ScanResult {
  /** Segments with records at or after the head, oldest first. */
  segments: Segment[];
  /** One past the last stored seq (0 when nothing is stored). */
  nextSeq: number;
  /** Byte offset of the head record in the first segment. */
  headOffset: number;
}

/**
 * Reads every segment at start-up: checks each record's length and checksum, cuts a torn or
 * damaged tail off (logged, the file truncated to its last good record), and deletes files
 * whose records are all behind the head (already delivered) or that hold none.
 */
export function scanSegments(dir: string, headSeq: number, log: Logger): ScanResult {
  const names = readdirSync(dir)
    .filter((n) => NAME.test(n))
    .sort();
  const segments: Segment[] = [];
  let nextSeq = 0;
  let headOffset = 0;
  for (const name of names) {
    const path = join(dir, name);
    const bytes = readFileSync(path);
    let at = 0;
    let first = -1;
    let seq = -1;
    let seqAtHead = -1;
    for (;;) {
      const result = readRecord(bytes, at, bytes.length);
      if (result.kind === 'short' && at === bytes.length) break;
      if (result.kind !== 'record' || (seq >= 0 && result.seq !== seq + 1)) {
        const reason =
          result.kind === 'record'
            ? 'seq out of order'
            : result.kind === 'bad'
              ? result.reason
              : 'torn record';
        log.warn(
          { file: path, offset: at, reason },
          'store: damaged record at the end of a segment; skipped',
        );
        truncate(path, at, log);
        break;
      }
      if (first < 0) first = result.seq;
      if (result.seq === headSeq) seqAtHead = at;
      seq = result.seq;
      at += result.size;
    }
    const segment: Segment = { path, firstSeq: first, nextSeq: seq + 1, bytes: at };
    if (first < 0 || segment.nextSeq <= headSeq || first < nextSeq) {
      if (first >= 0 && first < nextSeq) log.warn({ file: path }, 'store: overlapping segment; removed');
      remove(path, log);
      continue;
    }
    if (segments.length === 0 && seqAtHead > 0) headOffset = seqAtHead;
    segments.push(segment);
    nextSeq = segment.nextSeq;
  }
  return { segments, nextSeq, headOffset };
}

function truncate(path: string, length: number, log: Logger): void {
  try {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, length);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    log.warn({ err: error, file: path }, 'store: cannot truncate a damaged segment');
  }
}

function remove(path: string, log: Logger): void {
  try {
    unlinkSync(path);
  } catch (error) {
    log.warn({ err: error, file: path }, 'store: cannot remove a segment');
  }
}
