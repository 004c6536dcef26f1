/**
 * Codec benchmark: encode/decode time and bytes allocated per packet, as a Markdown table,
 * then the zero-copy targets checked against the numbers.
 *
 *   npm run bench:codec            # full run, under a minute
 *   npm run bench:codec -- --quick # about 10x fewer iterations
 *
 * Time: the median of 5 timed rounds per case after a warm-up; GCs in them are counted.
 * Allocation: the same operation in batches small enough to fit the young generation, each
 * after forced GCs, from process.memoryUsage() heapUsed (median batch) and arrayBuffers (mean)
 * deltas; a batch that a GC interrupted (seen by a PerformanceObserver) is thrown away.
 */
import { constants, PerformanceObserver, performance } from 'node:perf_hooks';
import {
  decodeDatagram,
  encodeFrame,
  encodeFrameInto,
  type FrameHead,
  MAX_QPACKET_LENGTH,
  type Packet,
  StreamDecoder,
  Type,
} from '../src/protocol/index.js';

const QUICK = process.argv.includes('--quick');
const SCALE = QUICK ? 0.1 : 1;
/** Timed-loop budget per case, and the most packets any case runs. */
const TIME_BUDGET_NS = 0.8e9 * SCALE;
const MAX_OPS = Math.round(1e6 * SCALE);
const ROUNDS = 5;
/** Packets whose allocation is measured per case, and the time that may take (GCs between batches). */
const MAX_ALLOC_OPS = Math.round(1e6 * SCALE);
const ALLOC_TIME_BUDGET_MS = 800 * SCALE;
/** Young-generation bytes one allocation batch may use: well under V8's initial 1 MiB semi-space. */
const BATCH_HEAP_BYTES = 384 * 1024;
/** ArrayBuffer bytes one batch may allocate: more makes V8 collect for external memory pressure. */
const BATCH_EXTERNAL_BYTES = 4 * 1024 * 1024;

const forceGc = (globalThis as { gc?: () => void }).gc;
if (!forceGc) {
  console.error('run with node --expose-gc (npm run bench:codec)');
  process.exit(2);
}
const gc: () => void = forceGc;

// --- GC observation -------------------------------------------------------------------

interface GcEvent {
  start: number;
  end: number;
  kind: number;
  forced: boolean;
}
const gcEvents: GcEvent[] = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const detail = (e as { detail?: { kind?: number; flags?: number } }).detail ?? {};
    gcEvents.push({
      start: e.startTime,
      end: e.startTime + e.duration,
      kind: detail.kind ?? 0,
      forced: ((detail.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0,
    });
  }
});
observer.observe({ entryTypes: ['gc'] });

/** Lets the observer deliver the entries of GCs that already happened. */
const flushGcEvents = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function unforcedGcsIn(from: number, to: number): GcEvent[] {
  return gcEvents.filter((e) => !e.forced && e.end >= from && e.start <= to);
}

// --- measurement ---------------------------------------------------------------------

/** Results land here so the optimiser cannot drop the work. */
let sink: unknown;

interface Case {
  op: string;
  dataBytes: number;
  packetBytes: number;
  run: () => unknown;
  /** Shown in the notes column. */
  note?: string;
}

interface Result extends Case {
  ops: number;
  nsPerOp: number;
  heapPerOp: number;
  arrayBufferPerOp: number;
  allocOps: number;
  minorGcs: number;
  majorGcs: number;
}

function loop(run: () => unknown, n: number): void {
  for (let i = 0; i < n; i++) sink = run();
}

function memory(): number[] {
  const m = process.memoryUsage();
  return [m.heapUsed, m.arrayBuffers];
}

/** What one memoryUsage() pair costs, so it can be taken off each batch. */
function measureOverhead(): number[] {
  const heap: number[] = [];
  const ab: number[] = [];
  for (let i = 0; i < 20; i++) {
    gc();
    const a = memory();
    const b = memory();
    heap.push((b[0] as number) - (a[0] as number));
    ab.push((b[1] as number) - (a[1] as number));
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1] as number;
  return [median(heap), median(ab)];
}
let overhead = [0, 0];

async function measure(c: Case): Promise<Result> {
  // Warm up, and estimate the cost to size the timed loop.
  loop(c.run, 2000);
  let t = process.hrtime.bigint();
  loop(c.run, 2000);
  const estimate = Number(process.hrtime.bigint() - t) / 2000;
  const ops = Math.max(2000, Math.min(MAX_OPS, Math.round(TIME_BUDGET_NS / Math.max(estimate, 1))));
  loop(c.run, Math.min(ops >> 2, 50_000));

  // Several rounds, reporting the median, so a burst of load elsewhere skews one round only.
  gc();
  await flushGcEvents();
  const from = performance.now();
  const round = Math.ceil(ops / ROUNDS);
  const perOp: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    t = process.hrtime.bigint();
    loop(c.run, round);
    perOp.push(Number(process.hrtime.bigint() - t) / round);
  }
  const to = performance.now();
  perOp.sort((a, b) => a - b);
  await flushGcEvents();
  const during = unforcedGcsIn(from, to);
  const minorGcs = during.filter((e) => e.kind === constants.NODE_PERFORMANCE_GC_MINOR).length;

  // Allocation: size batches from a small probe so each stays inside the young generation.
  gc();
  gc();
  let m0 = memory();
  loop(c.run, 20);
  let m1 = memory();
  const heapProbe = Math.max(1, ((m1[0] as number) - (m0[0] as number)) / 20);
  const abProbe = Math.max(1, ((m1[1] as number) - (m0[1] as number)) / 20);
  const batch = Math.max(
    10,
    Math.min(20_000, Math.floor(BATCH_HEAP_BYTES / heapProbe), Math.floor(BATCH_EXTERNAL_BYTES / abProbe)),
  );
  const allocTarget = Math.min(ops, MAX_ALLOC_OPS);
  const deadline = performance.now() + ALLOC_TIME_BUDGET_MS;
  const windows: [number, number, number, number][] = [];
  for (
    let done = 0;
    done < allocTarget && (windows.length < 5 || performance.now() < deadline);
    done += batch
  ) {
    // Twice: the first GC's ArrayBuffer sweeper frees buffers concurrently, and would take
    // them off arrayBuffers in the middle of the batch; the second finishes it and frees none.
    gc();
    gc();
    const start = performance.now();
    m0 = memory();
    loop(c.run, batch);
    m1 = memory();
    windows.push([
      start,
      performance.now(),
      (m1[0] as number) - (m0[0] as number),
      (m1[1] as number) - (m0[1] as number),
    ]);
  }
  await flushGcEvents();
  // Heap: the median batch, since compiling a function also allocates on the heap now and then.
  // ArrayBuffers: the mean, since pools and slabs are allocated in bursts; the JIT makes none.
  const heapRates: number[] = [];
  let ab = 0;
  let counted = 0;
  for (const [start, end, dHeap, dAb] of windows) {
    if (unforcedGcsIn(start, end).length > 0 || dHeap < 0) continue;
    heapRates.push((dHeap - (overhead[0] as number)) / batch);
    ab += dAb - (overhead[1] as number);
    counted += batch;
  }
  heapRates.sort((a, b) => a - b);
  return {
    ...c,
    ops: round * ROUNDS,
    nsPerOp: perOp[ROUNDS >> 1] as number,
    heapPerOp: counted ? (heapRates[heapRates.length >> 1] as number) : Number.NaN,
    arrayBufferPerOp: counted ? ab / counted : Number.NaN,
    allocOps: counted,
    minorGcs,
    majorGcs: during.length - minorGcs,
  };
}

// --- cases ---------------------------------------------------------------------------

const URL_PATH = '/echo';
const SIZES: readonly [string, number][] = [
  ['0 B', 0],
  ['1 KiB', 1024],
  ['64 KiB', 64 * 1024],
  ['262119 B (max)', 262_119],
];
const QUICK_SIZES: readonly [string, number][] = [
  ['0 B', 0],
  ['1 KiB', 1024],
  ['65479 B (quick max)', 65_479],
];
const head: FrameHead = { type: Type.RPC, flags: 0x01, seqno: 12345, url: URL_PATH };

function dataOf(n: number): Buffer | undefined {
  return n === 0 ? undefined : Buffer.alloc(n, 0xa5);
}

/** The packet as one chunk in its own ArrayBuffer, as a socket would hand it over. */
function wire(n: number): Buffer {
  const frame = encodeFrame(head, undefined, dataOf(n));
  const out = Buffer.alloc(frame.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const b of frame) at += b.copy(out, at);
  return out;
}

const sizeLabel = new Map<number, string>([...SIZES, ...QUICK_SIZES].map(([l, n]) => [n, l]));

function cases(): Case[] {
  const out: Case[] = [];
  const qbuf = Buffer.alloc(MAX_QPACKET_LENGTH);
  const keep = (p: Packet) => {
    sink = p;
  };

  for (const [, n] of SIZES) {
    const data = dataOf(n);
    out.push({
      op: 'encodeFrame (normal)',
      dataBytes: n,
      packetBytes: wire(n).length,
      run: () => encodeFrame(head, undefined, data),
    });
  }
  for (const [, n] of QUICK_SIZES) {
    const data = dataOf(n);
    out.push({
      op: 'encodeFrameInto (quick, reused 65507 B buffer)',
      dataBytes: n,
      packetBytes: wire(n).length,
      run: () => encodeFrameInto(qbuf, head, undefined, data, MAX_QPACKET_LENGTH),
    });
  }
  for (const [, n] of SIZES) {
    const chunk = wire(n);
    const decoder = new StreamDecoder(keep);
    out.push({
      op: 'StreamDecoder.push, whole packet in one chunk',
      dataBytes: n,
      packetBytes: chunk.length,
      run: () => decoder.push(chunk),
    });
  }
  for (const [, n] of QUICK_SIZES) {
    const dgram = wire(n);
    out.push({
      op: 'decodeDatagram',
      dataBytes: n,
      packetBytes: dgram.length,
      run: () => decodeDatagram(dgram),
    });
  }
  for (const [, n] of SIZES) {
    const chunk = wire(n);
    const mid = chunk.length >> 1;
    const a = chunk.subarray(0, mid);
    const b = chunk.subarray(mid);
    const decoder = new StreamDecoder(keep);
    out.push({
      op: 'StreamDecoder.push, packet split in 2 chunks',
      dataBytes: n,
      packetBytes: chunk.length,
      note: 'assembled: one packet-sized copy is expected',
      run: () => {
        decoder.push(a);
        return decoder.push(b);
      },
    });
  }
  // The floor for decoding: just the result object, its views and the url string.
  for (const n of [0, 1024]) {
    const chunk = wire(n);
    const end = chunk.length - ((chunk[2] as number) >>> 6);
    out.push({
      op: 'floor: result object + views + url string',
      dataBytes: n,
      packetBytes: chunk.length,
      note: 'what a decode cannot avoid',
      run: (): Packet => ({
        type: chunk[1] as number,
        flags: (chunk[2] as number) & 0x3f,
        status: chunk[3] as number,
        seqno: chunk.readUInt32BE(4),
        tunid: chunk.readUInt16BE(8),
        url: chunk.toString('utf8', 20, 25),
        param: undefined,
        data: n === 0 ? undefined : chunk.subarray(25, end),
      }),
    });
  }
  return out;
}

// --- report --------------------------------------------------------------------------

const fmt = (x: number, digits = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';

function table(results: readonly Result[]): string {
  const rows = [
    '| operation | data | packet B | packets timed | ns/op | MB/s | GCs in timed loop (minor/major) | packets measured for allocation | heap B/op | ArrayBuffer B/op | total B/op | note |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of results) {
    const mbs = (r.packetBytes / r.nsPerOp) * 1000;
    rows.push(
      `| ${r.op} | ${sizeLabel.get(r.dataBytes) ?? `${r.dataBytes} B`} | ${r.packetBytes} | ${fmt(r.ops)} | ${fmt(r.nsPerOp, 1)} | ${fmt(mbs)} | ${r.minorGcs}/${r.majorGcs} | ${fmt(r.allocOps)} | ${fmt(r.heapPerOp, 1)} | ${fmt(r.arrayBufferPerOp, 1)} | ${fmt(r.heapPerOp + r.arrayBufferPerOp, 1)} | ${r.note ?? ''} |`,
    );
  }
  return rows.join('\n');
}

/** Slack for measurement noise, in bytes per packet. */
const NOISE = 16;

function targets(results: readonly Result[]): { ok: boolean; lines: string[] } {
  const find = (op: string, n: number) =>
    results.find((r) => r.op.startsWith(op) && r.dataBytes === n) as Result;
  const total = (r: Result) => r.heapPerOp + r.arrayBufferPerOp;
  const lines: string[] = [];
  let ok = true;
  const check = (pass: boolean, text: string) => {
    ok &&= pass;
    lines.push(`- ${pass ? 'PASS' : 'FAIL'}: ${text}`);
  };

  for (const op of ['StreamDecoder.push, whole', 'decodeDatagram']) {
    for (const r of results.filter((x) => x.op.startsWith(op))) {
      const floor = find('floor', r.dataBytes === 0 ? 0 : 1024);
      check(
        total(r) <= total(floor) + NOISE && r.arrayBufferPerOp <= NOISE,
        `${r.op}, ${sizeLabel.get(r.dataBytes)}: ${fmt(total(r), 1)} B/op allocated vs the floor of ${fmt(total(floor), 1)} B/op ` +
          '(result object + views + url string): nothing else is allocated, the data is not copied',
      );
    }
  }

  const big = find('encodeFrame', 262_119);
  const data = Buffer.alloc(262_119);
  const frame = encodeFrame(head, undefined, data);
  check(
    frame.includes(data) && total(big) < 1024,
    `encodeFrame with 262119 B of data: the frame holds the caller's very Buffer and ${fmt(total(big), 1)} B/op are ` +
      `allocated (< 1 KiB, vs ${fmt(big.packetBytes)} B of packet): none of the payload is copied`,
  );
  const small = find('encodeFrame', 0);
  check(
    big.nsPerOp < small.nsPerOp + 4000,
    `encodeFrame takes ${fmt(big.nsPerOp, 1)} ns with 262119 B of data vs ${fmt(small.nsPerOp, 1)} ns with none ` +
      '(copying 256 KiB would add well over 4 µs): cost does not grow with the payload',
  );
  for (const r of results.filter((x) => x.op.startsWith('encodeFrameInto'))) {
    check(
      r.arrayBufferPerOp <= NOISE && r.heapPerOp <= NOISE,
      `encodeFrameInto, ${sizeLabel.get(r.dataBytes)}: ${fmt(total(r), 1)} B/op: writes into the reused buffer, allocates nothing`,
    );
  }
  return { ok, lines };
}

async function main(): Promise<void> {
  overhead = measureOverhead();
  const started = Date.now();
  const results: Result[] = [];
  for (const c of cases()) results.push(await measure(c));
  observer.disconnect();
  void sink;

  const { ok, lines } = targets(results);
  console.log(`## vsoa-edge codec benchmark${QUICK ? ' (--quick)' : ''}\n`);
  console.log(
    `node ${process.version}, ${process.arch}; url \`${URL_PATH}\`, no param; ` +
      'ns/op is the median of 5 timed rounds (wall clock: other load on the machine shows). ' +
      'Bytes allocated per packet come from process.memoryUsage() heapUsed and arrayBuffers deltas over ' +
      'batches run after forced GCs; a batch that a GC interrupted is dropped (perf_hooks gc entries).\n',
  );
  console.log(table(results));
  console.log('\n### Targets\n');
  console.log(lines.join('\n'));
  console.log(
    `\n${ok ? 'All targets met' : 'Some targets missed'}; ran in ${fmt((Date.now() - started) / 1000, 1)} s.`,
  );
  if (!ok) process.exitCode = 1;
}

await main();
