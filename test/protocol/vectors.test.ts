/**
 * Golden vectors: every VSOA frame captured from the official implementations decodes to
 * its recorded fields and re-encodes to the same bytes (pad zeroed), and whole captured
 * byte streams decode the same however they are chunked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeDatagram,
  encodeFrame,
  encodeFrameInto,
  MAX_QPACKET_LENGTH,
  type Packet,
  ProtocolError,
  StreamDecoder,
} from '../../src/protocol/index.js';

interface Decoded {
  magicVersion: number;
  type: number;
  flags: number;
  status: number;
  seqno: number;
  tunid: number;
  urlLength: number;
  paramLength: number;
  dataLength: number;
  url: string | null;
  param: string | null;
  paramHex?: string;
  dataHex: string | null;
  pad: number;
  padBytesHex?: string;
}

interface Vector {
  name: string;
  direction: 'c2s' | 's2c';
  channel: 'tcp' | 'udp' | 'tcp-stream';
  hex: string;
  canonicalHex?: string;
  decoded: Decoded | null;
  scenario: string;
  pairing: string;
  connection?: number;
}

// CI clones the repo with shared/ beside it, so the vectors are at ../shared/vectors from the root.
const VECTOR_DIR = new URL('../../../shared/vectors/', import.meta.url);
// FC_SEED lets a developer explore other chunkings; the default keeps runs repeatable.
const SEED = Number(process.env.FC_SEED ?? 0x7653_4f41);

const files = readdirSync(VECTOR_DIR)
  .filter((f) => f.endsWith('.json') && f !== 'position.json')
  .sort();

function load(file: string): Vector[] {
  const json = JSON.parse(readFileSync(new URL(file, VECTOR_DIR), 'utf8')) as { vectors: Vector[] };
  return json.vectors.filter((v) => v.channel === 'tcp' || v.channel === 'udp');
}

function decodeOne(v: Vector): Packet {
  const bytes = Buffer.from(v.hex, 'hex');
  if (v.channel === 'udp') {
    const packet = decodeDatagram(bytes);
    if (packet instanceof ProtocolError) throw packet;
    return packet;
  }
  const packets: Packet[] = [];
  const decoder = new StreamDecoder((p) => packets.push(p));
  expect(decoder.push(bytes)).toBeUndefined();
  expect(decoder.buffered).toBe(0);
  expect(packets).toHaveLength(1);
  return packets[0] as Packet;
}

function hexOf(b: Uint8Array | undefined): string | null {
  return b === undefined ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function expectMatches(packet: Packet, d: Decoded): void {
  expect(packet.type).toBe(d.type);
  expect(packet.flags).toBe(d.flags);
  expect(packet.status).toBe(d.status);
  expect(packet.seqno).toBe(d.seqno);
  expect(packet.tunid).toBe(d.tunid);
  expect(packet.url).toBe(d.url ?? '');
  expect(Buffer.byteLength(packet.url)).toBe(d.urlLength);
  if (d.paramHex !== undefined) expect(hexOf(packet.param)).toBe(d.paramHex);
  else expect(packet.param?.toString('utf8') ?? null).toBe(d.param);
  expect(packet.param?.length ?? 0).toBe(d.paramLength);
  expect(hexOf(packet.data)).toBe(d.dataHex);
  expect(packet.data?.length ?? 0).toBe(d.dataLength);
}

function reencode(packet: Packet): Buffer {
  const head = {
    type: packet.type,
    flags: packet.flags,
    status: packet.status,
    seqno: packet.seqno,
    tunid: packet.tunid,
    url: packet.url,
  };
  return Buffer.concat(encodeFrame(head, packet.param, packet.data));
}

describe.each(files)('%s', (file) => {
  const vectors = load(file);

  it('has VSOA frames to check', () => {
    expect(vectors.length).toBeGreaterThan(0);
  });

  it.each(vectors.map((v, i) => [`#${i} ${v.channel} ${v.name}`, v] as const))('%s', (_, v) => {
    const d = v.decoded as Decoded;
    const bytes = Buffer.from(v.hex, 'hex');
    expect(bytes[0]).toBe(d.magicVersion);
    expect(bytes[2]! >>> 6).toBe(d.pad);
    expect(bytes.length % 4).toBe(0);

    const packet = decodeOne(v);
    expectMatches(packet, d);

    const canonical = v.canonicalHex ?? v.hex;
    expect(reencode(packet).toString('hex')).toBe(canonical);
    if (v.channel === 'udp') {
      const target = Buffer.alloc(MAX_QPACKET_LENGTH, 0xee);
      const n = encodeFrameInto(target, packet, packet.param, packet.data, MAX_QPACKET_LENGTH);
      expect(target.subarray(0, n).toString('hex')).toBe(canonical);
    }
  });

  // Each TCP connection's bytes in one direction, in capture order, form one stream.
  const streams = new Map<string, Vector[]>();
  for (const v of vectors) {
    if (v.channel !== 'tcp') continue;
    const key = `${v.scenario} | ${v.pairing} | conn ${v.connection ?? 0} | ${v.direction}`;
    const list = streams.get(key) ?? [];
    list.push(v);
    streams.set(key, list);
  }

  it.each([...streams])('stream %s decodes in any chunking', (_, list) => {
    const whole = Buffer.concat(list.map((v) => Buffer.from(v.hex, 'hex')));
    const cuts = fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, whole.length - 1) }), {
      maxLength: Math.min(whole.length - 1, 40),
    });
    const check = (points: number[]): void => {
      const packets: Packet[] = [];
      const decoder = new StreamDecoder((p) => packets.push(p));
      let from = 0;
      for (const to of [...points.sort((a, b) => a - b), whole.length]) {
        // A fresh copy per chunk: views must survive later chunks.
        expect(decoder.push(Buffer.from(whole.subarray(from, to)))).toBeUndefined();
        from = to;
      }
      expect(decoder.buffered).toBe(0);
      expect(packets).toHaveLength(list.length);
      packets.forEach((p, i) => {
        expectMatches(p, list[i]!.decoded as Decoded);
      });
    };
    // Byte by byte, whole, then random cut points.
    check(Array.from({ length: whole.length - 1 }, (_x, i) => i + 1));
    check([]);
    fc.assert(fc.property(cuts, check), { seed: SEED, numRuns: 50 });
  });
});

describe('vector files', () => {
  it('are found beside the repo', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(files).toContain('probe.json');
  });
});
