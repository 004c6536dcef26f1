/** The little the fault proxy knows of VSOA: where the client's SERVINFO keeps its quick port. */

const MAGIC_VERSION = 0x29;
const SERVINFO = 0x00;
const FLAG_REPLY = 0x01;
const FLAG_TUNNEL = 0x02;
const TUNID_OFFSET = 8;

/**
 * Rewrites, in place, the tunid of a client's SERVINFO header (its quick UDP port) to `port`.
 * Returns the client's own port, or undefined when the header is not such a SERVINFO.
 */
export function rewriteServInfoTunid(head: Buffer, port: number): { clientPort: number } | undefined {
  if (head.length < 20 || head[0] !== MAGIC_VERSION || head[1] !== SERVINFO) return undefined;
  const flags = head[2] ?? 0;
  if (flags & FLAG_REPLY || !(flags & FLAG_TUNNEL)) return undefined;
  const clientPort = head.readUInt16BE(TUNID_OFFSET);
  head.writeUInt16BE(port, TUNID_OFFSET);
  return { clientPort };
}

/** A small seeded PRNG (mulberry32): the same faults on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
