/**
 * Length-prefixed framing for the raw TCP floor: a 4-byte big-endian length, then the
 * bytes. The counter finds frame ends without copying, whatever the chunking.
 */

export const PREFIX_BYTES = 4;

export class FrameCounter {
  /** Body bytes still to skip in the current frame. */
  private bodyLeft = 0;
  /** Prefix bytes of the next frame seen so far (a prefix may be split across chunks). */
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixHave = 0;

  /** Consumes a chunk; returns how many frames it completed. */
  push(chunk: Buffer): number {
    let at = 0;
    let frames = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= take;
        at += take;
        if (this.bodyLeft === 0) frames++;
        continue;
      }
      if (this.prefixHave === 0 && chunk.length - at >= PREFIX_BYTES) {
        this.bodyLeft = chunk.readUInt32BE(at);
        at += PREFIX_BYTES;
      } else {
        this.prefix[this.prefixHave++] = chunk[at++] as number;
        if (this.prefixHave < PREFIX_BYTES) continue;
        this.prefixHave = 0;
        this.bodyLeft = this.prefix.readUInt32BE(0);
      }
      if (this.bodyLeft === 0) frames++;
    }
    return frames;
  }
}

export function prefixFor(length: number): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES);
  out.writeUInt32BE(length, 0);
  return out;
}
