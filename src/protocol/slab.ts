/**
 * A bump allocator over large slabs, like Node's own Buffer pool but sized for packet heads
 * (header + url + small param). Each head gets its own region, so it stays valid while a
 * socket holds it; a slab is freed by the GC once no head in it is referenced.
 */
const SLAB_SIZE = 64 * 1024;
const LARGEST_FROM_SLAB = SLAB_SIZE >>> 2;

let slab = Buffer.allocUnsafe(SLAB_SIZE);
let used = 0;

export function allocHead(length: number): Buffer {
  if (length > LARGEST_FROM_SLAB) return Buffer.allocUnsafe(length);
  if (used + length > SLAB_SIZE) {
    slab = Buffer.allocUnsafe(SLAB_SIZE);
    used = 0;
  }
  const head = slab.subarray(used, used + length);
  // Keep the next head 8-byte aligned: cheaper integer writes, no false sharing of words.
  used = (used + length + 7) & ~7;
  return head;
}
