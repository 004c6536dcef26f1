import { performance } from 'node:perf_hooks';

/**
 * A short-lived cache of positive lookups, so a reconnect loop asking for the same name every
 * few hundred milliseconds does not flood the position server. Misses are never stored: a
 * server that has just registered must be found at once. Bounded: the oldest entry goes first.
 */
export class LookupCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();

  constructor(
    private ttlMs: number,
    private readonly maxEntries = 256,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.setTtl(ttlMs);
  }

  get ttl(): number {
    return this.ttlMs;
  }

  /** 0 disables the cache (and empties it). */
  setTtl(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`cache ttl must be a finite number of ms >= 0, got ${ms}`);
    }
    this.ttlMs = ms;
    if (ms === 0) this.entries.clear();
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() >= entry.expires) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T): void {
    if (this.ttlMs === 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
