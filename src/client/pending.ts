import type { Packet } from '../protocol/index.js';

export type SettleReason = 'reply' | 'timeout' | 'closed';
export type Settle = (packet: Packet | undefined, reason: SettleReason) => void;

interface Entry {
  type: number;
  settle: Settle;
  timer: NodeJS.Timeout | undefined;
}

/** Seqnos 0..0xFFFF serve requests that want a reply; at most this many can be pending. */
const SEQNO_SPACE = 0x1_0000;
export const MAX_PENDING = 0xffff;

/**
 * Requests waiting for a reply, by seqno. Every entry is settled exactly once: with its
 * reply, on its timeout, or when the connection ends.
 */
export class PendingTable {
  private readonly entries = new Map<number, Entry>();
  private next = 1;
  private nextOneWay = 1;

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
    const entry: Entry = { type, settle, timer: undefined };
    if (timeoutMs > 0) {
      entry.timer = setTimeout(() => {
        if (this.entries.get(seqno) !== entry) return;
        this.entries.delete(seqno);
        settle(undefined, 'timeout');
      }, timeoutMs);
    }
    this.entries.set(seqno, entry);
  }

  /** Forgets a request that could not be sent; its callback is not called. */
  cancel(seqno: number): void {
    const entry = this.entries.get(seqno);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    this.entries.delete(seqno);
  }

  /** Settles the request this reply answers; false if none (late or unknown reply). */
  resolve(packet: Packet): boolean {
    const entry = this.entries.get(packet.seqno);
    if (!entry || entry.type !== packet.type) return false;
    if (entry.timer) clearTimeout(entry.timer);
    this.entries.delete(packet.seqno);
    entry.settle(packet, 'reply');
    return true;
  }

  /** Settles every request as failed (the connection ended). */
  failAll(): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.settle(undefined, 'closed');
    }
  }
}
