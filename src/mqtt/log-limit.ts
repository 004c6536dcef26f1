import type { Logger } from '../util/log.js';

/**
 * Warnings about what a peer sent (a broker can send anything, as fast as it likes): at most
 * `burst` lines per window, then one line saying how many were suppressed.
 */
export class LimitedLog {
  private windowStart = 0;
  private count = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly burst = 10,
    private readonly windowMs = 10_000,
  ) {}

  warn(fields: object, message: string): void {
    const now = Date.now();
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) this.log.warn({ suppressed: this.suppressed }, 'similar warnings suppressed');
      this.windowStart = now;
      this.count = 0;
      this.suppressed = 0;
    }
    if (this.count++ < this.burst) this.log.warn(fields, message);
    else this.suppressed++;
  }
}
