import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writevSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import { encodeRecord, MAX_RECORD_BODY, RECORD_HEADER, readRecord, type UpMessage } from './message.js';
import type { QueuedRecord, UpQueue } from './queue.js';
import { type Segment, scanSegments, segmentName } from './segments.js';

const HEAD_FILE = 'head';
/** The head (first unacknowledged seq) is written at most this often; a crash resends the rest. */
const HEAD_SAVE_MS = 100;
const READ_CHUNK = 2 * (RECORD_HEADER + MAX_RECORD_BODY);

/**
 * An UpQueue on disk: append-only segment files `seg-<first seq>.log` of checksummed records
 * (message.ts) and a `head` file with the first seq not yet acknowledged. Appends are written
 * at the end of the current JavaScript task (a kill -9 loses only what the page cache never
 * saw); a segment is deleted once all its records are acknowledged, or, when the queue is
 * full, the oldest whole segment is dropped. Each segment is at most 1/16 of the bound, so
 * the files never exceed the bound and a drop loses at most 1/16 of it.
 */
export class DiskQueue implements UpQueue {
  private readonly segments: Segment[];
  private readonly segmentBytes: number;
  private writeFd: number;
  private pending: Buffer[] = [];
  private flushQueued = false;
  private headSeq: number;
  private nextSeq: number;
  private readonly acked = new Set<number>();
  private totalBytes: number;
  private droppedCount = 0;
  private headTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Where next() reads: a segment, the byte offset in it, the seq found there. */
  private cursor: { segment: Segment; offset: number; seq: number };
  private readFd: number | undefined;
  private readFor: Segment | undefined;
  private readonly readBuf = Buffer.allocUnsafe(READ_CHUNK);
  private readStart = 0;
  private readEnd = 0;
  ondrop: ((count: number) => void) | undefined;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.segmentBytes = Math.max(64 * 1024, Math.min(4 * 1024 * 1024, Math.floor(maxBytes / 16)));
    this.headSeq = this.readHead();
    const scan = scanSegments(dir, this.headSeq, log);
    this.segments = scan.segments;
    this.nextSeq = Math.max(this.headSeq, scan.nextSeq);
    const write: Segment = {
      path: join(dir, segmentName(this.nextSeq)),
      firstSeq: this.nextSeq,
      nextSeq: this.nextSeq,
      bytes: 0,
    };
    this.segments.push(write);
    this.writeFd = openSync(write.path, 'a', 0o600);
    this.totalBytes = this.segments.reduce((sum, s) => sum + s.bytes, 0);
    const first = this.segments[0] as Segment;
    this.cursor = { segment: first, offset: scan.headOffset, seq: Math.max(first.firstSeq, this.headSeq) };
    this.normalizeHead();
    if (this.length > 0) log.info({ dir, queued: this.length, bytes: this.totalBytes }, 'store opened');
  }

  get length(): number {
    let n = 0;
    for (const s of this.segments) n += Math.max(0, s.nextSeq - Math.max(s.firstSeq, this.headSeq));
    return n - this.acked.size;
  }
  get unsent(): number {
    let n = 0;
    for (const s of this.segments) n += Math.max(0, s.nextSeq - Math.max(s.firstSeq, this.cursor.seq));
    return n;
  }
  get bytes(): number {
    return this.totalBytes;
  }
  get dropped(): number {
    return this.droppedCount;
  }

  append(message: UpMessage): void {
    if (this.closed) return;
    const record = encodeRecord(this.nextSeq, message);
    let write = this.segments[this.segments.length - 1] as Segment;
    if (write.bytes > 0 && write.bytes + record.length > this.segmentBytes) write = this.roll();
    let dropped = 0;
    while (this.totalBytes + record.length > this.maxBytes && this.segments.length > 1) {
      dropped += this.dropOldest();
    }
    this.pending.push(record);
    write.bytes += record.length;
    this.totalBytes += record.length;
    write.nextSeq = ++this.nextSeq;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    if (dropped > 0) {
      this.droppedCount += dropped;
      this.ondrop?.(dropped);
    }
  }

  next(): QueuedRecord | undefined {
    if (this.closed) return undefined;
    this.flush();
    for (;;) {
      const { segment } = this.cursor;
      if (this.cursor.seq >= segment.nextSeq) {
        const i = this.segments.indexOf(segment);
        const following = this.segments[i + 1];
        if (!following) return undefined;
        this.cursor = { segment: following, offset: 0, seq: following.firstSeq };
        continue;
      }
      const result = this.readAt(segment, this.cursor.offset);
      if (result.kind !== 'record' || result.seq !== this.cursor.seq) {
        // Changed under us (the files were edited?): skip the rest of this segment.
        const lost = segment.nextSeq - this.cursor.seq;
        this.log.error({ file: segment.path, offset: this.cursor.offset, lost }, 'store: unreadable record');
        this.droppedCount += lost;
        this.cursor.seq = segment.nextSeq;
        continue;
      }
      this.cursor.offset += result.size;
      this.cursor.seq = result.seq + 1;
      if (result.seq < this.headSeq) continue;
      return { seq: result.seq, message: result.message };
    }
  }

  ack(seq: number): void {
    if (this.closed || seq < this.headSeq || seq >= this.cursor.seq) return;
    this.acked.add(seq);
    this.normalizeHead();
    this.saveHeadSoon();
  }

  /** Writes what was appended in this task. */
  flush(): void {
    this.flushQueued = false;
    if (this.pending.length === 0 || this.closed) return;
    const buffers = this.pending;
    this.pending = [];
    try {
      let left = buffers.reduce((sum, b) => sum + b.length, 0);
      while (left > 0) {
        const n = writevSync(this.writeFd, buffers);
        left -= n;
        if (left > 0) dropWritten(buffers, n);
      }
    } catch (error) {
      // A full or failing disk: these records are lost; say so, keep running.
      this.log.error({ err: error, records: buffers.length }, 'store: write failed');
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.headTimer) clearTimeout(this.headTimer);
    this.saveHead();
    closeSync(this.writeFd);
    this.closeRead();
  }

  /** Moves the head over acknowledged records and releases segments entirely behind it. */
  private normalizeHead(): void {
    for (;;) {
      while (this.acked.delete(this.headSeq)) this.headSeq++;
      const first = this.segments[0] as Segment;
      if (this.headSeq < first.firstSeq && this.headSeq < this.nextSeq) {
        this.headSeq = first.firstSeq; // a gap left by a damaged segment
        continue;
      }
      if (this.headSeq >= first.nextSeq && this.segments.length > 1) {
        this.removeOldest();
        continue;
      }
      return;
    }
  }

  private roll(): Segment {
    this.flush();
    closeSync(this.writeFd);
    const segment: Segment = {
      path: join(this.dir, segmentName(this.nextSeq)),
      firstSeq: this.nextSeq,
      nextSeq: this.nextSeq,
      bytes: 0,
    };
    this.writeFd = openSync(segment.path, 'a', 0o600);
    this.segments.push(segment);
    return segment;
  }

  /** Drops the oldest segment because the queue is full; returns how many records it held. */
  private dropOldest(): number {
    const oldest = this.segments[0] as Segment;
    const lost = Math.max(0, oldest.nextSeq - Math.max(oldest.firstSeq, this.headSeq));
    let ackedLost = 0;
    for (const seq of this.acked) {
      if (seq < oldest.nextSeq) {
        this.acked.delete(seq);
        ackedLost++;
      }
    }
    this.headSeq = Math.max(this.headSeq, oldest.nextSeq);
    this.removeOldest();
    this.normalizeHead();
    this.saveHeadSoon();
    return lost - ackedLost;
  }

  private removeOldest(): void {
    const oldest = this.segments.shift() as Segment;
    this.totalBytes -= oldest.bytes;
    if (this.readFor === oldest) this.closeRead();
    if (this.cursor.segment === oldest) {
      const first = this.segments[0] as Segment;
      this.cursor = { segment: first, offset: 0, seq: first.firstSeq };
    }
    try {
      unlinkSync(oldest.path);
    } catch (error) {
      this.log.warn({ err: error, file: oldest.path }, 'store: cannot remove a segment');
    }
  }

  private readAt(segment: Segment, offset: number): ReturnType<typeof readRecord> {
    if (this.readFor !== segment) {
      this.closeRead();
      this.readFd = openSync(segment.path, 'r');
      this.readFor = segment;
    }
    let result =
      this.readStart <= offset
        ? readRecord(this.readBuf, offset - this.readStart, this.readEnd - this.readStart)
        : undefined;
    if (result === undefined || result.kind === 'short') {
      this.readStart = offset;
      this.readEnd = offset + readSync(this.readFd as number, this.readBuf, 0, READ_CHUNK, offset);
      result = readRecord(this.readBuf, 0, this.readEnd - this.readStart);
    }
    return result;
  }

  private closeRead(): void {
    if (this.readFd !== undefined) closeSync(this.readFd);
    this.readFd = undefined;
    this.readFor = undefined;
    this.readStart = this.readEnd = 0;
  }

  private readHead(): number {
    let text: string;
    try {
      text = readFileSync(join(this.dir, HEAD_FILE), 'utf8');
    } catch {
      return 0;
    }
    const seq = Number(text.trim());
    if (!Number.isSafeInteger(seq) || seq < 0) {
      this.log.warn({ dir: this.dir }, 'store: unreadable head file; resending everything stored');
      return 0;
    }
    return seq;
  }

  private saveHeadSoon(): void {
    if (this.headTimer) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined;
      this.saveHead();
    }, HEAD_SAVE_MS);
    this.headTimer.unref();
  }

  private saveHead(): void {
    const tmp = join(this.dir, `${HEAD_FILE}.tmp`);
    try {
      writeFileSync(tmp, `${this.headSeq}\n`, { mode: 0o600 });
      renameSync(tmp, join(this.dir, HEAD_FILE));
    } catch (error) {
      this.log.warn({ err: error }, 'store: cannot save the head');
    }
  }
}

/** After a partial writev: drop the first `n` written bytes from the list. */
function dropWritten(buffers: Buffer[], n: number): void {
  while (n > 0 && buffers.length > 0) {
    const first = buffers[0] as Buffer;
    if (first.length <= n) {
      n -= first.length;
      buffers.shift();
    } else {
      buffers[0] = first.subarray(n);
      n = 0;
    }
  }
}
