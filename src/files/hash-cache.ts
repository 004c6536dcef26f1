import { createHash, type Hash } from 'node:crypto';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * sha256 per file version, computed once and kept: a version is (device, inode, size, mtime),
 * so a GET reads a file it has seen before only to send it. Bounded (oldest out first).
 */
export class HashCache {
  private readonly entries = new Map<string, string>();

  constructor(private readonly limit = 1024) {}

  private static key(info: Stats): string {
    return `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
  }

  get(info: Stats): string | undefined {
    return this.entries.get(HashCache.key(info));
  }

  set(info: Stats, sha256: string): void {
    const key = HashCache.key(info);
    this.entries.delete(key);
    this.entries.set(key, sha256);
    if (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** The file's sha256, from the cache or read once through `handle`. */
  async of(handle: FileHandle, info: Stats): Promise<string> {
    const known = this.get(info);
    if (known !== undefined) return known;
    const sha256 = await hashHandle(handle, info.size);
    this.set(info, sha256);
    return sha256;
  }
}

const CHUNK = 1024 * 1024;

/** sha256 of the first `length` bytes behind `handle`, read with positioned reads (the handle's position is untouched). */
export async function hashHandle(handle: FileHandle, length: number): Promise<string> {
  const hash = createHash('sha256');
  await hashInto(hash, handle, length);
  return hash.digest('hex');
}

/** Feeds the first `length` bytes behind `handle` into `hash`, a megabyte at a time. */
export async function hashInto(hash: Hash, handle: FileHandle, length: number): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(length, 1)));
  for (let position = 0; position < length; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}
