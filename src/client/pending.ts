import type { Packet } from '../protocol/index.js';
import { monotonicNow } from '../util/clock.js';
import type { Logger } from '../util/log.js';

export type SettleReason = 'reply' | 'timeout' | 'closed';
export type Settle = (packet: Packet | undefined, reason: SettleReason) => void;

interface Entry {
  type: number;
  settle: Settle;
  /** monotonicNow() after which the request times out; 0 for never. */
  deadline: number;
}

export interface PendingHooks {
  /** Called as each entry is settled, before its callback (the session counts RPCs in flight). */
  settled?: (type: number) => void;
  /** Where a throwing callback is logged (`reply callback threw`); without it, the throw propagates. */
  log?: Logger;
}

/** Seqnos 0..0xFFFF serve requests that want a reply; at most this many can be pending. */
const SEQNO_SPACE = 0x1_0000;
export const MAX_PENDING = 0xffff;

/**
 * Requests waiting for a reply, by seqno. Every entry is settled exactly once: with its
 * reply, on its timeout, or when the connection ends.
 *
 * One timer serves all timeouts, armed for the earliest deadline (a timer per request costs
 * more than the request itself when many are pipelined). A reply only deletes its entry: the
 * timer stays armed even when the table empties, so a call after a call (one outstanding)
 * arms and clears no timer; when it fires it re-arms for what is left, if anything. It is
 * unref'd: the connection's socket is what keeps a process alive, and its end settles all.
 */
export class PendingTable {
  private readonly entries = new Map<number, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private next = 1;
  private nextOneWay = 1;

  /** Hooks rather than a wrapper closure per request: a call allocates no settle of its own here. */
  constructor(private readonly hooks: PendingHooks = {}) {}

  get size(): number {
    return this.entries.size;
  }

  /** A free seqno for a request that wants a reply, or undefined when all are in use. */
  allocate(): number | undefined {
    if (this.entries.size >= MAX_PENDING) return undefined;
    for (;;) {
      const seqno = this.next;
      this.next = (this.next + 1) % SEQNO_SPACE;
      if (!this.entries.has(seqno)) return seqno;
    }
  }

  /** Seqno for a request that wants no reply: n << 16, as the official clients do. */
  oneWay(): number {
    const seqno = this.nextOneWay * SEQNO_SPACE;
    this.nextOneWay = this.nextOneWay === 0xffff ? 1 : this.nextOneWay + 1;
    return seqno;
  }

  add(seqno: number, type: number, timeoutMs: number, settle: Settle): void {
    const deadline = timeoutMs > 0 ? monotonicNow() + timeoutMs : 0;
    this.entries.set(seqno, { type, settle, deadline });
    if (deadline !== 0 && deadline < this.timerAt) this.arm(deadline);
  }

  /** Forgets a request that could not be sent; its callback is not called. */
  cancel(seqno: number): void {
    this.entries.delete(seqno);
  }

  /** Settles the request this reply answers; false if none (late or unknown reply). */
  resolve(packet: Packet): boolean {
    const entry = this.entries.get(packet.seqno);
    if (!entry || entry.type !== packet.type) return false;
    this.entries.delete(packet.seqno);
    this.settle(entry, packet, 'reply');
    return true;
  }

  /** Settles every request as failed (the connection ended). */
  failAll(): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.disarm();
    for (const entry of entries) this.settle(entry, undefined, 'closed');
  }

  private settle(entry: Entry, packet: Packet | undefined, reason: SettleReason): void {
    this.hooks.settled?.(entry.type);
    const { log } = this.hooks;
    if (!log) {
      entry.settle(packet, reason);
      return;
    }
    try {
      entry.settle(packet, reason);
    } catch (error) {
      log.error({ err: error }, 'reply callback threw');
    }
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - monotonicNow()));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Times out every entry past its deadline, then re-arms for the earliest one left. */
  private expire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = monotonicNow();
    const expired: Entry[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [seqno, entry] of this.entries) {
      if (entry.deadline === 0) continue;
      if (entry.deadline <= now) {
        this.entries.delete(seqno);
        expired.push(entry);
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY && next < this.timerAt) this.arm(next);
    for (const entry of expired) this.settle(entry, undefined, 'timeout');
  }
}
