import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskQueue, MemoryQueue, type UpMessage, type UpQueue } from '../../src/mqtt/index.js';
import { encodeRecord, recordSize } from '../../src/mqtt/message.js';
import { memoryLogger, onCleanup } from '../helpers/net.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-store-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function message(i: number, size = 0): UpMessage {
  const m: UpMessage = {
    url: `/t/${i}`,
    param: Buffer.from(JSON.stringify({ i })),
    quick: false,
    time: 1000 + i,
  };
  if (size > 0) m.data = Buffer.alloc(size, i & 0xff);
  return m;
}

function drain(queue: UpQueue): number[] {
  const out: number[] = [];
  for (let r = queue.next(); r; r = queue.next()) out.push(JSON.parse(r.message.param?.toString() ?? '').i);
  return out;
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('seg-'))
    .sort()
    .map((n) => join(dir, n));
}

const MIB = 1024 * 1024;

describe('store-and-forward queue', () => {
  it('keeps records in order across a reopen, resending only what was not acknowledged', () => {
    const dir = tempDir();
    const { logger } = memoryLogger();
    const q = new DiskQueue(dir, 4 * MIB, logger);
    for (let i = 0; i < 100; i++) q.append(message(i, 100));
    const first = [];
    for (let i = 0; i < 60; i++) first.push(q.next());
    for (const r of first.slice(0, 50)) q.ack(r?.seq as number);
    expect(q.length).toBe(50);
    q.close();

    const again = new DiskQueue(dir, 4 * MIB, logger);
    onCleanup(() => again.close());
    expect(again.length).toBe(50);
    const rest = again.next();
    expect(rest?.seq).toBe(50);
    expect(rest?.message).toMatchObject({ url: '/t/50', quick: false, time: 1050 });
    expect(rest?.message.data?.length).toBe(100);
    expect(drain(again)).toEqual(Array.from({ length: 49 }, (_, k) => 51 + k));
    again.append(message(100));
    expect(again.next()?.seq).toBe(100); // numbering continues
  });

  it('detects a torn last record after a crash, skips it and keeps the rest', () => {
    const dir = tempDir();
    const { logger, lines } = memoryLogger();
    const q = new DiskQueue(dir, 4 * MIB, logger);
    for (let i = 0; i < 10; i++) q.append(message(i));
    q.flush(); // no close(): as after kill -9
    const last = segments(dir).at(-1) as string;
    const torn = encodeRecord(10, message(10, 50)).subarray(0, 30);
    appendFileSync(last, torn);

    const after = new DiskQueue(dir, 4 * MIB, logger);
    expect(after.length).toBe(10);
    expect(lines().some((l) => l.reason === 'torn record')).toBe(true);
    expect(drain(after)).toEqual([...Array(10).keys()]);
    after.append(message(10));
    after.close();
    const third = new DiskQueue(dir, 4 * MIB, logger);
    onCleanup(() => third.close());
    expect(drain(third)).toEqual([...Array(11).keys()]);
  });

  it('skips a damaged record (bad checksum, garbage length) without crashing', () => {
    const dir = tempDir();
    const { logger, lines } = memoryLogger();
    const q = new DiskQueue(dir, 4 * MIB, logger);
    for (let i = 0; i < 5; i++) q.append(message(i));
    q.close();
    const file = segments(dir).find((f) => statSync(f).size > 0) as string;
    const bytes = readFileSync(file);
    const size = bytes.length / 5;
    bytes[3 * size + 20] = (bytes[3 * size + 20] as number) ^ 0xff; // inside record 3
    writeFileSync(file, bytes);
    appendFileSync(segments(dir).at(-1) as string, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1]));

    const after = new DiskQueue(dir, 4 * MIB, logger);
    onCleanup(() => after.close());
    expect(drain(after)).toEqual([0, 1, 2]);
    expect(lines().filter((l) => String(l.msg).includes('damaged record')).length).toBeGreaterThanOrEqual(1);
  });

  it('when full drops the oldest, counts exactly, and keeps its files under the bound', () => {
    const dir = tempDir();
    const { logger } = memoryLogger();
    const q = new DiskQueue(dir, MIB, logger);
    onCleanup(() => q.close());
    let dropEvents = 0;
    q.ondrop = () => dropEvents++;
    const n = 400;
    for (let i = 0; i < n; i++) q.append(message(i, 8 * 1024));
    q.flush();
    const kept = drain(q);
    expect(kept.length + q.dropped).toBe(n);
    expect(q.dropped).toBeGreaterThan(0);
    expect(dropEvents).toBeGreaterThan(0);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => n - kept.length + k)); // the newest, in order
    const onDisk = segments(dir).reduce((s, f) => s + statSync(f).size, 0);
    expect(onDisk).toBeLessThanOrEqual(MIB);
    expect(q.bytes).toBe(onDisk);
  });

  it('in memory: bounded too, oldest dropped one by one, counted exactly', () => {
    const q = new MemoryQueue(MIB);
    const n = 400;
    for (let i = 0; i < n; i++) q.append(message(i, 8 * 1024));
    const kept = drain(q);
    expect(kept.length + q.dropped).toBe(n);
    expect(kept.at(-1)).toBe(n - 1);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => n - kept.length + k));
    expect(q.bytes).toBeLessThanOrEqual(MIB);
    // Exactly as many as fit: the newest records whose sizes add up to at most the bound.
    let fit = 0;
    let bytes = 0;
    for (let i = n - 1; i >= 0; i--) {
      bytes += recordSize(message(i, 8 * 1024));
      if (bytes > MIB) break;
      fit++;
    }
    expect(kept.length).toBe(fit);
    expect(q.dropped).toBe(n - fit);
  });

  it('an unreadable head file means resending everything stored (at-least-once)', () => {
    const dir = tempDir();
    const { logger } = memoryLogger();
    const q = new DiskQueue(dir, 4 * MIB, logger);
    for (let i = 0; i < 3; i++) q.append(message(i));
    for (let r = q.next(); r; r = q.next()) if (r.seq === 0) q.ack(0);
    q.close();
    writeFileSync(join(dir, 'head'), 'garbage');
    const again = new DiskQueue(dir, 4 * MIB, logger);
    onCleanup(() => again.close());
    expect(drain(again)).toEqual([0, 1, 2]);
  });
});
