import type { FileHandle } from 'node:fs/promises';

/** Bytes queued before the producer is asked to pause, and the level at which it may resume. */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 2 * 1024 * 1024;
/** One writev takes at most this much of the queue. */
const BATCH = 4 * 1024 * 1024;

/**
 * Appends what a stream receives to a file without stopping the stream for every write: chunks
 * queue (bounded) and leave in batches, one writev per batch, while the next ones arrive. A
 * write error is kept and reported by `flush()` (and to `onError` at once).
 */
export class WriteBehind {
  private queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  private error: Error | undefined;
  private drainWaiter: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly handle: FileHandle,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  /** Queues `chunk`; false when the producer should pause until `onDrain` calls back. */
  push(chunk: Buffer): boolean {
    if (this.error) return false;
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (!this.writing) void this.drain();
    return this.queued < HIGH_WATER;
  }

  /** Calls `resume` once the queue is back under the low-water mark. */
  onDrain(resume: () => void): void {
    if (this.queued <= LOW_WATER) resume();
    else this.drainWaiter = resume;
  }

  /** Resolves once everything pushed is written; rejects with the first write error. */
  async flush(): Promise<void> {
    if (this.writing || this.queue.length > 0)
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.error) throw this.error;
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.error) {
        let take = 0;
        let bytes = 0;
        while (take < this.queue.length && (take === 0 || bytes < BATCH))
          bytes += (this.queue[take++] as Buffer).length;
        const batch = this.queue.splice(0, take);
        await this.handle.writev(batch);
        this.queued -= bytes;
        if (this.drainWaiter && this.queued <= LOW_WATER) {
          const resume = this.drainWaiter;
          this.drainWaiter = undefined;
          resume();
        }
      }
    } catch (error) {
      this.error = error as Error;
      this.queue = [];
      this.queued = 0;
      this.onError(this.error);
    } finally {
      this.writing = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}
