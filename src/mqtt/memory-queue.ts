import type { UpMessage } from './message.js';
import { recordSize } from './message.js';
import type { QueuedRecord, UpQueue } from './queue.js';

interface Slot extends QueuedRecord {
  size: number;
  acked: boolean;
}

/** An UpQueue in memory (no --store): lost on exit, bounded by bytes, oldest dropped first. */
export class MemoryQueue implements UpQueue {
  private slots: Slot[] = [];
  /** Index in `slots` of the first live record; the array is compacted now and then. */
  private head = 0;
  /** Index of the next record to hand out. */
  private cursor = 0;
  private nextSeq = 0;
  private held = 0;
  private droppedCount = 0;
  ondrop: ((count: number) => void) | undefined;

  constructor(private readonly maxBytes: number) {}

  get length(): number {
    return this.slots.length - this.head;
  }
  get unsent(): number {
    return this.slots.length - this.cursor;
  }
  get bytes(): number {
    return this.held;
  }
  get dropped(): number {
    return this.droppedCount;
  }

  append(message: UpMessage): void {
    const size = recordSize(message);
    let dropped = 0;
    while (this.held + size > this.maxBytes && this.head < this.slots.length) {
      const slot = this.slots[this.head++] as Slot;
      this.held -= slot.size;
      if (!slot.acked) dropped++;
    }
    if (this.cursor < this.head) this.cursor = this.head;
    this.slots.push({ seq: this.nextSeq++, message, size, acked: false });
    this.held += size;
    this.compact();
    if (dropped > 0) {
      this.droppedCount += dropped;
      this.ondrop?.(dropped);
    }
  }

  next(): QueuedRecord | undefined {
    const slot = this.slots[this.cursor];
    if (!slot) return undefined;
    this.cursor++;
    return slot;
  }

  ack(seq: number): void {
    const first = this.slots[this.head];
    if (!first) return;
    const slot = this.slots[this.head + (seq - first.seq)];
    if (!slot || slot.seq !== seq || slot.acked) return;
    slot.acked = true;
    while (this.head < this.cursor && (this.slots[this.head] as Slot).acked) {
      this.held -= (this.slots[this.head] as Slot).size;
      this.head++;
    }
    this.compact();
  }

  close(): void {
    this.slots = [];
    this.head = this.cursor = 0;
    this.held = 0;
  }

  /** Drops released slots from the array once they are the larger part of it. */
  private compact(): void {
    if (this.head < 1024 || this.head * 2 < this.slots.length) return;
    this.slots = this.slots.slice(this.head);
    this.cursor -= this.head;
    this.head = 0;
  }
}
