import net from 'node:net';
import { monotonicNow } from '../util/clock.js';
import type { Logger } from '../util/log.js';

/** Addresses tracked at most; past it the longest-quiet one is forgotten (memory stays bounded). */
const MAX_ADDRESSES = 4096;
/** An address with no failure for this long starts afresh. */
const FORGET_MS = 60_000;

export interface AuthThrottleOptions {
  /** Failures answered without delay. */
  free: number;
  /** First delay, ms, doubling with each further failure; 0 disables the throttle. */
  base: number;
  /** Longest delay, ms. */
  max: number;
  log: Logger;
}

/** A password check waiting for its turn; false when its connection is gone (skipped at no cost). */
export type PendingCheck = () => boolean;

interface Entry {
  key: string;
  failures: number;
  lastFailure: number;
  /** No check for this address runs before this time. */
  nextAt: number;
  queue: PendingCheck[];
  timer: NodeJS.Timeout | undefined;
}

/**
 * Per-address backoff for failed password checks. After `free` failures, an address's
 * checks run one at a time, each `base × 2^n` ms (capped at `max`) after the previous
 * failure: parallel connections from one address do not multiply its guesses. Other
 * addresses are never delayed. IPv6 peers are grouped by /64 (one host usually owns one).
 * A success does not clear the count (an attacker behind the same NAT as a user must not
 * reset it); a quiet minute does.
 */
export class AuthThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: AuthThrottleOptions) {}

  /** Runs `check` now, or queued behind this address's backoff. */
  admit(address: string, check: PendingCheck): void {
    const entry = this.entry(throttleKey(address), false);
    if (!entry || (entry.queue.length === 0 && monotonicNow() >= entry.nextAt)) {
      check();
      return;
    }
    entry.queue.push(check);
    this.schedule(entry);
  }

  /** Records a wrong password from `address`. */
  failed(address: string): void {
    if (this.options.base <= 0) return;
    const key = throttleKey(address);
    const entry = this.entry(key, true) as Entry;
    const now = monotonicNow();
    entry.failures += 1;
    entry.lastFailure = now;
    const over = entry.failures - this.options.free;
    if (over <= 0) return;
    entry.nextAt = now + Math.min(this.options.max, this.options.base * 2 ** Math.min(over - 1, 30));
    if (over === 1) {
      this.options.log.warn(
        { peer: address, failures: entry.failures },
        'repeated wrong passwords: delaying further handshakes from this address',
      );
    }
  }

  /** Whether `address` is being delayed now (its failures are past the free ones). */
  isThrottled(address: string): boolean {
    const entry = this.entry(throttleKey(address), false);
    return entry !== undefined && entry.failures > this.options.free;
  }

  /** Addresses currently tracked. */
  get size(): number {
    return this.entries.size;
  }

  close(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }

  private entry(key: string, create: boolean): Entry | undefined {
    let entry = this.entries.get(key);
    const now = monotonicNow();
    if (entry && entry.queue.length === 0 && now - entry.lastFailure > FORGET_MS) {
      this.entries.delete(key);
      entry = undefined;
    }
    if (!create) return entry;
    if (entry) {
      this.entries.delete(key); // re-inserted last: the Map's order is by latest failure
    } else {
      entry = { key, failures: 0, lastFailure: now, nextAt: 0, queue: [], timer: undefined };
      if (this.entries.size >= MAX_ADDRESSES) this.evictOldest();
    }
    this.entries.set(key, entry);
    return entry;
  }

  /** Forgets the address whose last failure is oldest; its queued checks are dropped (their handshake times out). */
  private evictOldest(): void {
    for (const [key, entry] of this.entries) {
      clearTimeout(entry.timer);
      this.entries.delete(key);
      return;
    }
  }

  private schedule(entry: Entry): void {
    if (entry.timer) return;
    const delay = Math.max(0, entry.nextAt - monotonicNow());
    entry.timer = setTimeout(() => this.runNext(entry), delay);
    entry.timer.unref();
  }

  /** The turn of an address has come: its first live queued check runs. */
  private runNext(entry: Entry): void {
    entry.timer = undefined;
    if (this.entries.get(entry.key) !== entry) return; // evicted or closed
    while (entry.queue.length > 0) {
      const check = entry.queue.shift() as PendingCheck;
      if (check()) break;
    }
    if (entry.queue.length > 0) this.schedule(entry);
  }
}

/** The unit of throttling: the IPv4 address, or the /64 of an IPv6 one. */
export function throttleKey(address: string): string {
  if (!net.isIPv6(address) || address.includes('.')) return address;
  const bare = address.split('%')[0] as string;
  const [head = '', tail] = bare.split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? front : [...front, ...Array(8 - front.length - back.length).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
