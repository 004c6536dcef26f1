/**
 * One watchdog for "something queued must make progress": the send timer of a frame
 * connection and of a stream (they were two implementations). `arm()` starts
 * it if idle; `progress()` restarts the wait (or stops it once nothing is pending); `stop()`
 * stops it. One timer object per owner, refreshed rather than re-created; unref'd, so a
 * pending wait never keeps a process alive.
 */
export class StallTimer {
  private timer: NodeJS.Timeout | undefined;

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
    this.timer = setTimeout(() => this.fire(), this.ms);
    this.timer.unref();
  }

  /** Something moved: wait afresh while work remains, else stop. */
  progress(): void {
    if (!this.timer) return;
    if (this.pending()) this.timer.refresh();
    else this.stop();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    if (this.pending()) this.onStall(this.ms);
  }
}
