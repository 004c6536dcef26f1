import { monotonicNow } from '../util/clock.js';

/**
 * One watchdog for "something queued must make progress": the send timer of a frame
 * connection and of a stream (they were two implementations). `arm()` starts
 * it if idle; `progress()` restarts the wait (or stops it once nothing is pending); `stop()`
 * stops it. Progress only notes the time (it comes with every completed write of a backlog,
 * and reading a clock is cheaper than re-inserting the timer with `refresh()`); when the timer
 * fires it waits again for what is left since the last progress, so a stall is still declared
 * `ms` after it began. Unref'd, so a pending wait never keeps a process alive.
 */
export class StallTimer {
  private timer: NodeJS.Timeout | undefined;
  /** monotonicNow() of the last progress (or of arm()). */
  private since = 0;

  /**
   * @param ms the wait; 0 or less disables the watchdog.
   * @param onStall called once when the wait expired; `pending()` is checked first, so a
   *   watchdog whose work completed without `progress()` being called never fires.
   */
  constructor(
    private ms: number,
    private readonly pending: () => boolean,
    private readonly onStall: (ms: number) => void,
  ) {}

  get timeout(): number {
    return this.ms;
  }

  /** Changes the wait; a running wait restarts with the new value. */
  setTimeout(ms: number): void {
    this.ms = ms;
    if (this.timer) {
      this.stop();
      this.arm();
    }
  }

  /** Starts waiting unless already waiting (or disabled). */
  arm(): void {
    if (this.ms <= 0 || this.timer) return;
    this.since = monotonicNow();
    this.wait(this.ms);
  }

  /** Something moved: wait afresh while work remains, else stop. */
  progress(): void {
    if (!this.timer) return;
    if (this.pending()) this.since = monotonicNow();
    else this.stop();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wait(ms: number): void {
    this.timer = setTimeout(() => this.fire(), ms);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    if (!this.pending()) return;
    const left = this.since + this.ms - monotonicNow();
    if (left >= 1) this.wait(Math.ceil(left));
    else this.onStall(this.ms);
  }
}
