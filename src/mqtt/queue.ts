import type { UpMessage } from './message.js';

/** A queued message with its sequence number (increasing by one per append, across restarts). */
export interface QueuedRecord {
  seq: number;
  message: UpMessage;
}

/**
 * The store-and-forward queue between the VSOA side and the broker: every up message is
 * appended, handed out in order by next(), and released by ack() once the broker has it.
 * Bounded by bytes: when full, the oldest records (handed out or not) are dropped and counted.
 */
export interface UpQueue {
  append(message: UpMessage): void;
  /** The oldest record not yet handed out, or undefined. */
  next(): QueuedRecord | undefined;
  /** The broker has this record: release it (an unknown or dropped seq is ignored). */
  ack(seq: number): void;
  /** Records held: not yet acknowledged nor dropped. */
  readonly length: number;
  /** Records not yet handed out. */
  readonly unsent: number;
  /** Bytes held (for a disk queue: the size of its files). */
  readonly bytes: number;
  /** Records dropped because the queue was full, since it was opened. */
  readonly dropped: number;
  /** Called with the number of records each time some are dropped. */
  ondrop: ((count: number) => void) | undefined;
  close(): void;
}

/** The byte bound of a queue without --store-max: 64 MiB on disk, 8 MiB in memory. */
export const DEFAULT_DISK_MAX = 64 * 1024 * 1024;
export const DEFAULT_MEMORY_MAX = 8 * 1024 * 1024;
/** Below this a single VSOA packet (256 KiB) would not fit comfortably. */
export const MIN_QUEUE_MAX = 1024 * 1024;
