import { type Logger, moduleLogger } from './log.js';

// Jobs of any argument list share one queue; `add` checks the arguments against the function.
type JobFn = (...args: never[]) => unknown;

interface Job {
  readonly fn: JobFn;
  readonly args: unknown[];
}

/**
 * The seed's `vsoa.WorkQueue`: jobs run one at a time, in the order added, each in its own
 * later turn of the event loop (`setImmediate`), so socket I/O runs between jobs and `add`
 * never runs a job synchronously. A job that returns a promise is awaited before the next one
 * starts. A job that throws or rejects is logged and the queue goes on.
 *
 * "Queued" means waiting: the running job is not counted by `size`, is not found by
 * `isQueued`, and cannot be removed by `delete`.
 */
export class WorkQueue {
  readonly #log: Logger;
  #queue: (Job | undefined)[] = []; // run jobs are cleared to undefined so they can be collected
  #head = 0; // index of the next job: shifting a long array on every job would be O(n)
  #running = false;
  #scheduled: NodeJS.Immediate | null = null;
  #idleWaiters: (() => void)[] = [];

  constructor() {
    this.#log = moduleLogger('work-queue');
  }

  /** Number of jobs waiting to run (the running job excluded). */
  get size(): number {
    return this.#queue.length - this.#head;
  }

  /** Queue `fn(...args)` to run after the jobs already queued. */
  add<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void {
    checkFn(fn);
    this.#queue.push({ fn: fn as JobFn, args });
    this.#schedule();
  }

  /** Like `add`, unless a job of `fn` is already waiting: then nothing is added and it returns false. */
  addIfNotQueued<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): boolean {
    checkFn(fn);
    if (this.isQueued(fn)) return false;
    this.add(fn, ...args);
    return true;
  }

  /** Remove every waiting job of `fn` (not a running one); true if any was removed. */
  delete(fn: (...args: never[]) => unknown): boolean {
    checkFn(fn);
    const before = this.size;
    this.#queue = this.#queue.slice(this.#head).filter((job) => job!.fn !== fn);
    this.#head = 0;
    if (this.#queue.length === before) return false;
    if (this.#queue.length === 0 && !this.#running) {
      if (this.#scheduled !== null) clearImmediate(this.#scheduled);
      this.#scheduled = null;
      this.#settleIdle();
    }
    return true;
  }

  /** Whether a job of `fn` is waiting to run (a running job does not count). */
  isQueued(fn: (...args: never[]) => unknown): boolean {
    checkFn(fn);
    for (let i = this.#head; i < this.#queue.length; i++) {
      if (this.#queue[i]?.fn === fn) return true;
    }
    return false;
  }

  /**
   * Resolves once no job is waiting or running (at once if so already). A job that awaits
   * `onIdle()` of its own queue waits for itself forever.
   */
  onIdle(): Promise<void> {
    if (!this.#running && this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#running || this.#scheduled !== null || this.size === 0) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = null;
      void this.#runNext();
    });
  }

  async #runNext(): Promise<void> {
    if (this.size === 0) {
      this.#settleIdle();
      return;
    }
    const job = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#running = true;
    try {
      await (job.fn as (...args: unknown[]) => unknown)(...job.args);
    } catch (err) {
      this.#log.error({ err, job: job.fn.name || '(anonymous)' }, 'work queue job failed');
    }
    this.#running = false;
    if (this.size === 0) this.#settleIdle();
    else this.#schedule();
  }

  #settleIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function checkFn(fn: unknown): void {
  if (typeof fn !== 'function') throw new TypeError('fn must be a function');
}
