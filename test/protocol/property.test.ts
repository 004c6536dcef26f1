/**
 * Codec properties (fast-check): round trips up to both channel limits, any chunking of a
 * stream, garbage never escaping as an exception or an oversized buffer, the error codes,
 * and the zero-copy promises of the encoder and decoder.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  decodeDatagram,
  encodeFrame,
  encodeFrameInto,
  type FrameHead,
  frameLength,
  HEADER_LENGTH,
  MAGIC_VERSION,
  MAX_PACKET_LENGTH,
  MAX_QPACKET_LENGTH,
  type Packet,
  ProtocolError,
  padLength,
  StreamDecoder,
  Type,
  type WireParam,
} from '../../src/protocol/index.js';

// FC_SEED explores other cases; the fixed default keeps CI runs repeatable.
const SEED = Number(process.env.FC_SEED ?? 0x5653_4f41);
const run = (numRuns: number) => ({ seed: SEED, numRuns });

interface Sample {
  head: Required<FrameHead>;
  param: WireParam;
  data: Uint8Array | undefined;
}

/** `n` patterned bytes as a Buffer or a plain Uint8Array at a non-zero offset. */
function bytes(n: number, seed: number, plain: boolean): Uint8Array {
  const backing = new Uint8Array(n + 8);
  let x = seed | 1;
  for (let i = 0; i < backing.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    backing[i] = x & 0xff;
  }
  const u8 = backing.subarray(3, 3 + n);
  return plain ? u8 : Buffer.from(u8.buffer, u8.byteOffset, n);
}

const bytesArb = (max: number): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(
      fc.oneof(fc.integer({ min: 0, max: Math.min(max, 64) }), fc.integer({ min: 0, max }), fc.constant(max)),
      fc.integer(),
      fc.boolean(),
    )
    .map(([n, seed, plain]) => bytes(n, seed, plain));

const headArb: fc.Arbitrary<Required<FrameHead>> = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  flags: fc.integer({ min: 0, max: 0x3f }),
  status: fc.integer({ min: 0, max: 255 }),
  seqno: fc.integer({ min: 0, max: 0xffff_ffff }),
  tunid: fc.integer({ min: 0, max: 0xffff }),
  url: fc.oneof(fc.constantFrom('', '/', '/echo', '/a/b/c'), fc.string({ unit: 'binary', maxLength: 40 })),
});

const paramArb = (max: number): fc.Arbitrary<WireParam> =>
  fc.oneof(fc.constant(undefined), fc.json({ maxDepth: 3 }), bytesArb(max));

function paramLength(param: WireParam): number {
  if (param === undefined) return 0;
  return typeof param === 'string' ? Buffer.byteLength(param) : param.byteLength;
}

/** The largest data that fits beside the head and param under `limit` (pad included). */
function dataRoom(head: FrameHead, param: WireParam, limit: number): number {
  return (limit & ~3) - HEADER_LENGTH - Buffer.byteLength(head.url ?? '') - paramLength(param);
}

/** A packet of any shape whose data fills anything up to the room left under `limit`. */
function sampleArb(limit: number, maxParam: number, maxData = limit): fc.Arbitrary<Sample> {
  return fc
    .tuple(headArb, paramArb(maxParam))
    .chain(([head, param]) =>
      fc
        .option(bytesArb(Math.min(maxData, dataRoom(head, param, limit))), { nil: undefined })
        .map((data) => ({ head, param, data })),
    );
}

function expectedTotal(s: Sample): number {
  const unpadded =
    HEADER_LENGTH + Buffer.byteLength(s.head.url) + paramLength(s.param) + (s.data?.byteLength ?? 0);
  return unpadded + padLength(unpadded);
}

function asBytes(x: WireParam): Buffer | undefined {
  if (x === undefined) return undefined;
  const b = typeof x === 'string' ? Buffer.from(x) : Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return b.length === 0 ? undefined : b;
}

function expectSame(p: Packet, s: Sample): void {
  expect(p.type).toBe(s.head.type);
  expect(p.flags).toBe(s.head.flags);
  expect(p.status).toBe(s.head.status);
  expect(p.seqno).toBe(s.head.seqno);
  expect(p.tunid).toBe(s.head.tunid);
  expect(p.url).toBe(s.head.url);
  // Compare as bytes; toEqual on 256 KiB buffers is slow and prints badly.
  expect(p.param?.equals(asBytes(s.param) as Buffer) ?? asBytes(s.param) === undefined).toBe(true);
  expect(p.data?.equals(asBytes(s.data) as Buffer) ?? asBytes(s.data) === undefined).toBe(true);
}

function decodeAll(chunks: readonly Buffer[], limit = MAX_PACKET_LENGTH): Packet[] {
  const out: Packet[] = [];
  const decoder = new StreamDecoder((p) => out.push(p), limit);
  for (const c of chunks) expect(decoder.push(c)).toBeUndefined();
  expect(decoder.buffered).toBe(0);
  return out;
}

/** Splits `whole` at the given points (any order, duplicates allowed). */
function split(whole: Buffer, points: readonly number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => p % (whole.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, whole.length]) {
    out.push(Buffer.from(whole.subarray(from, to)));
    from = to;
  }
  return out;
}

/** A bare 20-byte header with the given lengths and pad bits. */
function header(
  urlLen: number,
  paramLen: number,
  dataLen: number,
  pad?: number,
  magic = MAGIC_VERSION,
): Buffer {
  const h = Buffer.alloc(HEADER_LENGTH);
  h[0] = magic;
  h[1] = Type.RPC;
  const p = pad ?? padLength(HEADER_LENGTH + urlLen + paramLen + dataLen);
  h[2] = p << 6;
  h.writeUInt16BE(urlLen, 10);
  h.writeUInt32BE(paramLen, 12);
  h.writeUInt32BE(dataLen, 16);
  return h;
}

function rpc(data?: Uint8Array, param?: WireParam): Buffer {
  return Buffer.concat(encodeFrame({ type: Type.RPC, url: '/echo', seqno: 7 }, param, data));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('round trip', () => {
  it('normal channel: encodeFrame -> StreamDecoder, up to 262144 bytes', () => {
    fc.assert(
      fc.property(sampleArb(MAX_PACKET_LENGTH, 8192), (s) => {
        const frame = encodeFrame(s.head, s.param, s.data);
        const total = frameLength(frame);
        expect(total).toBe(expectedTotal(s));
        expect(total % 4).toBe(0);
        expect(total).toBeLessThanOrEqual(MAX_PACKET_LENGTH);
        const whole = Buffer.concat(frame);
        expect(whole.subarray(total - padLength(total - (whole[2]! >>> 6))).every((b) => b === 0)).toBe(true);
        // One chunk, then the encoder's own buffers as separate chunks.
        for (const chunks of [[whole], frame]) {
          const packets = decodeAll(chunks);
          expect(packets).toHaveLength(1);
          expectSame(packets[0]!, s);
        }
      }),
      run(150),
    );
  });

  it('normal channel: the largest packets land exactly on 262144 bytes', () => {
    fc.assert(
      fc.property(headArb, paramArb(4096), (head, param) => {
        const data = bytes(dataRoom(head, param, MAX_PACKET_LENGTH), 1, false);
        const frame = encodeFrame(head, param, data);
        expect(frameLength(frame)).toBe(MAX_PACKET_LENGTH);
        expectSame(decodeAll([Buffer.concat(frame)])[0]!, { head, param, data });
      }),
      run(20),
    );
  });

  it('quick channel: encodeFrameInto -> decodeDatagram, up to 65507 bytes', () => {
    const target = Buffer.alloc(MAX_QPACKET_LENGTH);
    fc.assert(
      fc.property(sampleArb(MAX_QPACKET_LENGTH, 4096), (s) => {
        target.fill(0xee);
        const n = encodeFrameInto(target, s.head, s.param, s.data, MAX_QPACKET_LENGTH);
        expect(n).toBe(expectedTotal(s));
        expect(n).toBeLessThanOrEqual(65_504);
        expect(target.subarray(0, n).equals(Buffer.concat(encodeFrame(s.head, s.param, s.data)))).toBe(true);
        const p = decodeDatagram(target.subarray(0, n));
        if (p instanceof ProtocolError) throw p;
        expectSame(p, s);
        // A sender may leave the trailing pad off a datagram.
        const unpadded = n - (target[2]! >>> 6);
        const q = decodeDatagram(target.subarray(0, unpadded));
        if (q instanceof ProtocolError) throw q;
        expectSame(q, s);
      }),
      run(150),
    );
  });

  it('any split of a stream of valid packets decodes to the same packets', () => {
    const samples = fc.array(sampleArb(MAX_PACKET_LENGTH, 300, 3000), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(samples, fc.array(fc.nat(), { maxLength: 30 }), (list, points) => {
        // Encode all first: heads from the slab must stay intact while later ones are made.
        const frames = list.map((s) => encodeFrame(s.head, s.param, s.data));
        const whole = Buffer.concat(frames.flat());
        const packets = decodeAll(split(whole, points));
        expect(packets).toHaveLength(list.length);
        packets.forEach((p, i) => {
          expectSame(p, list[i]!);
        });
      }),
      run(200),
    );
  });
});

describe('hostile input', () => {
  const LIMIT = 4096;
  // Garbage that gets past the magic byte often: headers with random, often huge, lengths.
  const headerish = fc
    .tuple(
      fc.oneof(fc.nat(64), fc.nat(0xffff)),
      fc.oneof(fc.nat(64), fc.nat(0xffff_ffff)),
      fc.oneof(fc.nat(5000), fc.nat(0xffff_ffff)),
      fc.option(fc.nat(3)),
    )
    .map(([u, p, d, pad]) => header(u, p, d, pad ?? undefined));
  const garbage = fc
    .array(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
        headerish,
        sampleArb(LIMIT, 200, 2000).map((s) => Buffer.concat(encodeFrame(s.head, s.param, s.data))),
      ),
      { maxLength: 12 },
    )
    .map((parts) => Buffer.concat(parts));

  it('StreamDecoder.push never throws and never holds or allocates past its limit', () => {
    const alloc = vi.spyOn(Buffer, 'allocUnsafe');
    fc.assert(
      fc.property(garbage, fc.array(fc.nat(), { maxLength: 20 }), fc.boolean(), (whole, points, small) => {
        const limit = small ? LIMIT : MAX_PACKET_LENGTH;
        alloc.mockClear();
        let emitted = 0;
        const decoder = new StreamDecoder(() => {
          emitted++;
        }, limit);
        let error: ProtocolError | undefined;
        for (const chunk of split(whole, points)) {
          const r = decoder.push(chunk);
          expect(decoder.buffered).toBeLessThanOrEqual(limit);
          if (error) {
            // A dead decoder stays dead and silent.
            expect(r).toBe(error);
          } else if (r) {
            expect(r).toBeInstanceOf(ProtocolError);
            expect(['BAD_MAGIC', 'BAD_PAD', 'TOO_LARGE']).toContain(r.code);
            expect(decoder.failed).toBe(r);
            error = r;
            const before = emitted;
            decoder.push(rpc());
            expect(emitted).toBe(before);
          }
        }
        for (const [size] of alloc.mock.calls) expect(size).toBeLessThanOrEqual(limit);
      }),
      run(400),
    );
  });

  it('decodeDatagram never throws, and what it accepts re-encodes to the same packet', () => {
    fc.assert(
      fc.property(garbage, fc.boolean(), (buf, small) => {
        const limit = small ? LIMIT : MAX_QPACKET_LENGTH;
        const r = decodeDatagram(buf, limit);
        if (r instanceof ProtocolError) {
          expect(['BAD_MAGIC', 'BAD_PAD', 'TOO_LARGE', 'TRUNCATED']).toContain(r.code);
          return;
        }
        expect(buf.length).toBeLessThanOrEqual(limit);
        // Same bytes up to the pad, which a datagram may leave off.
        const again = Buffer.concat(encodeFrame(r, r.param, r.data, limit));
        const unpadded = again.length - (buf[2]! >>> 6);
        expect(buf.length).toBeGreaterThanOrEqual(unpadded);
        expect(again.subarray(0, unpadded).equals(buf.subarray(0, unpadded))).toBe(true);
      }),
      run(400),
    );
  });

  it('a header announcing more than the limit is TOO_LARGE before any allocation', () => {
    const alloc = vi.spyOn(Buffer, 'allocUnsafe');
    const lengths = fc
      .tuple(fc.nat(0xffff), fc.nat(0xffff_ffff), fc.nat(0xffff_ffff), fc.nat(3), fc.nat(19))
      .filter(([u, p, d]) => HEADER_LENGTH + u + p + d > MAX_PACKET_LENGTH - 4);
    fc.assert(
      fc.property(lengths, ([u, p, d, pad, cut]) => {
        const unpadded = HEADER_LENGTH + u + p + d;
        fc.pre(unpadded + padLength(unpadded) > MAX_PACKET_LENGTH);
        const h = header(u, p, d, pad);
        const decoder = new StreamDecoder(() => {
          throw new Error('no packet expected');
        });
        alloc.mockClear();
        // Whole header at once, or split so that it is staged first.
        const r =
          cut === 0 ? decoder.push(h) : (decoder.push(h.subarray(0, cut)) ?? decoder.push(h.subarray(cut)));
        expect(r?.code).toBe('TOO_LARGE');
        expect(decoder.buffered).toBe(0);
        // Nothing sized from the header: at most the 20-byte staging of a split header (made on first use).
        expect(alloc.mock.calls.every(([size]) => size <= HEADER_LENGTH)).toBe(true);
        expect(decodeDatagram(h)).toMatchObject({ code: 'TOO_LARGE' });
      }),
      run(300),
    );
  });

  it('the limits are exact: 262144 is buffered, 262148 is refused', () => {
    const room = MAX_PACKET_LENGTH - HEADER_LENGTH;
    const packets: Packet[] = [];
    const decoder = new StreamDecoder((p) => packets.push(p));
    expect(decoder.push(header(0, 0, room))).toBeUndefined();
    expect(decoder.buffered).toBe(HEADER_LENGTH);
    expect(decoder.push(Buffer.alloc(room - 1))).toBeUndefined();
    expect(decoder.buffered).toBe(MAX_PACKET_LENGTH - 1);
    expect(decoder.push(Buffer.alloc(1))).toBeUndefined();
    expect(packets).toHaveLength(1);
    expect(packets[0]!.data?.length).toBe(room);

    const over = header(0, 0, room + 4);
    expect(new StreamDecoder(() => {}).push(over)?.code).toBe('TOO_LARGE');
    expect(decodeDatagram(header(0, 0, 65_504 - HEADER_LENGTH))).toMatchObject({ code: 'TRUNCATED' });
    expect(decodeDatagram(header(0, 0, 65_508 - HEADER_LENGTH))).toMatchObject({ code: 'TOO_LARGE' });
  });

  it('bad magic is BAD_MAGIC, at the start or after a good packet, whole or split', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }).filter((b) => b !== MAGIC_VERSION),
        fc.boolean(),
        fc.nat(),
        (magic, afterGood, cut) => {
          const bad = rpc(Buffer.from('xyz'));
          bad[0] = magic;
          const whole = afterGood ? Buffer.concat([rpc(), bad]) : bad;
          const packets: Packet[] = [];
          const decoder = new StreamDecoder((p) => packets.push(p));
          let r: ProtocolError | undefined;
          for (const c of split(whole, [cut])) r = decoder.push(c) ?? r;
          expect(r?.code).toBe('BAD_MAGIC');
          expect(packets).toHaveLength(afterGood ? 1 : 0);
          expect(decodeDatagram(bad)).toMatchObject({ code: 'BAD_MAGIC' });
        },
      ),
      run(200),
    );
  });

  it('a pad count that does not fit the lengths is BAD_PAD', () => {
    fc.assert(
      fc.property(fc.nat(40), fc.nat(40), fc.nat(40), fc.nat(3), (u, p, d, pad) => {
        fc.pre(pad !== padLength(HEADER_LENGTH + u + p + d));
        const whole = Buffer.concat([header(u, p, d, pad), Buffer.alloc(u + p + d + 3)]);
        expect(new StreamDecoder(() => {}).push(whole)?.code).toBe('BAD_PAD');
        expect(decodeDatagram(whole)).toMatchObject({ code: 'BAD_PAD' });
      }),
      run(200),
    );
  });

  it('a datagram that does not hold exactly one packet is TRUNCATED', () => {
    const good = rpc(Buffer.from('ab')); // 20 + 5 + 2 = 27, pad 1
    expect(decodeDatagram(good.subarray(0, 19))).toMatchObject({ code: 'TRUNCATED' });
    expect(decodeDatagram(good.subarray(0, 26))).toMatchObject({ code: 'TRUNCATED' });
    expect(decodeDatagram(good.subarray(0, 27))).not.toBeInstanceOf(ProtocolError);
    expect(decodeDatagram(Buffer.concat([good, Buffer.alloc(1)]))).toMatchObject({ code: 'TRUNCATED' });
  });
});

describe('encode limits', () => {
  const cases = [
    ['normal', MAX_PACKET_LENGTH],
    ['quick', MAX_QPACKET_LENGTH],
  ] as const;

  it.each(cases)('%s channel: over the limit is a RangeError naming the limit and the size', (_, limit) => {
    fc.assert(
      fc.property(headArb, fc.integer({ min: 1, max: 70_000 }), (head, extra) => {
        const room = dataRoom(head, undefined, limit);
        const data = Buffer.alloc(room + extra);
        const unpadded = HEADER_LENGTH + Buffer.byteLength(head.url) + data.length;
        const total = unpadded + padLength(unpadded);
        const message = new RegExp(`(?=.*\\b${total}\\b)(?=.*\\b${limit}\\b)`);
        expect(() => encodeFrame(head, undefined, data, limit)).toThrow(RangeError);
        expect(() => encodeFrame(head, undefined, data, limit)).toThrow(message);
        expect(() => encodeFrameInto(Buffer.alloc(limit), head, undefined, data, limit)).toThrow(message);
        // A param counts the same as data.
        expect(() => encodeFrame(head, data, undefined, limit)).toThrow(message);
        // One byte less than the overflow always fits.
        expect(frameLength(encodeFrame(head, undefined, data.subarray(0, room), limit))).toBeLessThanOrEqual(
          limit,
        );
      }),
      run(30),
    );
  });

  it('the largest data beside /echo is 262119 bytes (normal) and 65479 bytes (quick)', () => {
    const head = { type: Type.RPC, url: '/echo' };
    expect(frameLength(encodeFrame(head, undefined, Buffer.alloc(262_119)))).toBe(262_144);
    expect(() => encodeFrame(head, undefined, Buffer.alloc(262_120))).toThrow(/262148.*262144/);
    const target = Buffer.alloc(MAX_QPACKET_LENGTH);
    expect(encodeFrameInto(target, head, undefined, Buffer.alloc(65_479), MAX_QPACKET_LENGTH)).toBe(65_504);
    expect(() => encodeFrameInto(target, head, undefined, Buffer.alloc(65_480), MAX_QPACKET_LENGTH)).toThrow(
      /65508.*65507/,
    );
  });

  it('a url longer than its 16-bit field is a RangeError', () => {
    expect(() => encodeFrame({ type: Type.RPC, url: `/${'a'.repeat(0xffff)}` })).toThrow(RangeError);
    expect(() => encodeFrame({ type: Type.RPC, url: `/${'a'.repeat(0xfffe)}` })).not.toThrow();
  });
});

describe('zero copy', () => {
  it('a packet whole in one chunk is handed over as views into that chunk', () => {
    fc.assert(
      fc.property(
        fc.array(sampleArb(MAX_PACKET_LENGTH, 500, 5000), { minLength: 1, maxLength: 5 }),
        (list) => {
          const encoded = Buffer.concat(list.flatMap((s) => encodeFrame(s.head, s.param, s.data)));
          // A chunk with its own ArrayBuffer at a non-zero offset, as sockets hand them over.
          const chunk = Buffer.alloc(encoded.length + 16).subarray(16);
          encoded.copy(chunk);
          const packets = decodeAll([chunk]);
          expect(packets).toHaveLength(list.length);
          for (const p of packets) {
            for (const view of [p.param, p.data]) {
              if (view === undefined) continue;
              expect(view.buffer).toBe(chunk.buffer);
              expect(view.byteOffset).toBeGreaterThanOrEqual(chunk.byteOffset);
              expect(view.byteOffset + view.length).toBeLessThanOrEqual(chunk.byteOffset + chunk.length);
            }
          }
        },
      ),
      run(100),
    );
    const datagram = rpc(Buffer.from('data'), '{"p":1}');
    const q = decodeDatagram(datagram) as Packet;
    expect(q.data?.buffer).toBe(datagram.buffer);
    expect(q.param?.buffer).toBe(datagram.buffer);
  });

  it('encodeFrame passes a 256 KiB data through without copying it', () => {
    const head = { type: Type.RPC, url: '/echo', seqno: 1 };
    const data = Buffer.alloc(262_119, 7);
    const frame = encodeFrame(head, undefined, data);
    expect(frame.includes(data)).toBe(true);

    const plain = new Uint8Array(262_119 + 8).subarray(8);
    const frame2 = encodeFrame(head, undefined, plain);
    const passed = frame2.find((b) => b.buffer === plain.buffer);
    expect(passed?.byteOffset).toBe(plain.byteOffset);
    expect(passed?.byteLength).toBe(plain.byteLength);
    // Not copied, so a later change shows through (the caller must not reuse it early).
    plain[0] = 42;
    expect(passed?.[0]).toBe(42);
  });

  it('encodeFrame passes a large byte param through without copying it', () => {
    const param = Buffer.alloc(100_000, 1);
    const data = Buffer.alloc(100_000, 2);
    const frame = encodeFrame({ type: Type.RPC, url: '/echo' }, param, data);
    expect(frame.includes(param)).toBe(true);
    expect(frame.includes(data)).toBe(true);
    expect(frame.indexOf(param)).toBeLessThan(frame.indexOf(data));
  });
});
