import { type Logger, moduleLogger } from './log.js';

/** Node clamps longer delays to 1 ms (with a warning); refuse them instead. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface TimerOptions {
  /**
   * Do not keep the process alive while this timer is pending (Node's `unref()`). Default
   * `false`: an application timer normally should keep the process running.
   */
  unref?: boolean;
}

function checkDelay(name: string, value: unknown, allowZero: boolean): void {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number of milliseconds`);
  const low = allowZero ? value >= 0 : value > 0; // false for NaN
  if (!(low && value <= MAX_DELAY_MS)) {
    throw new RangeError(
      `${name} must be ${allowZero ? '>= 0' : '> 0'} and <= ${MAX_DELAY_MS} ms, got ${value}`,
    );
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * The seed's `vsoa.Timer`: a restartable one-shot or periodic timer, in milliseconds.
 * Callbacks run on the event loop (the seed's run on a timer thread). A callback that throws
 * or rejects is logged and does not stop a periodic timer.
 */
export class Timer {
  readonly #unref: boolean;
  readonly #log: Logger;
  #handle: NodeJS.Timeout | null = null;

  constructor(options: TimerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    this.#unref = options.unref === true;
    this.#log = moduleLogger('timer');
  }

  /**
   * Call `callback(...args)` after `timeoutMs`, then every `intervalMs` if it is > 0 (0 means
   * one shot). Starting a started timer restarts it with the new settings.
   */
  start<A extends unknown[]>(
    timeoutMs: number,
    callback: (...args: A) => unknown,
    intervalMs = 0,
    ...args: A
  ): void {
    checkDelay('timeoutMs', timeoutMs, false);
    if (typeof callback !== 'function') throw new TypeError('callback must be a function');
    checkDelay('intervalMs', intervalMs, true);

    this.stop();
    // Node runs sub-millisecond delays after 1 ms; flooring here keeps fake timers (which
    // would spin on them) in step with the real ones.
    const first = Math.max(1, timeoutMs);
    const every = Math.max(1, intervalMs);
    this.#handle = this.#arm(
      setTimeout(() => {
        if (intervalMs > 0) {
          // Armed before the call so that the callback may stop or restart the timer.
          this.#handle = this.#arm(setInterval(() => this.#invoke(callback, args), every));
        } else {
          this.#handle = null; // a fired one-shot timer is no longer started
        }
        this.#invoke(callback, args);
      }, first),
    );
  }

  /** Stop the timer; it may be started again. Stopping a stopped timer does nothing. */
  stop(): void {
    if (this.#handle === null) return;
    // clearTimeout also clears intervals in Node; both kinds of handle land here.
    clearTimeout(this.#handle);
    this.#handle = null;
  }

  /** Whether the timer is pending: false once a one-shot timer has fired (even inside its callback). */
  isStarted(): boolean {
    return this.#handle !== null;
  }

  #arm(handle: NodeJS.Timeout): NodeJS.Timeout {
    if (this.#unref) handle.unref();
    return handle;
  }

  #invoke<A extends unknown[]>(callback: (...args: A) => unknown, args: A): void {
    try {
      const result = callback(...args);
      // An async callback's rejection would otherwise be an unhandled rejection (a crash).
      if (isThenable(result)) result.then(undefined, (err: unknown) => this.#fail(err));
    } catch (err) {
      this.#fail(err);
    }
  }

  #fail(err: unknown): void {
    this.#log.error({ err }, 'timer callback failed');
  }
}
