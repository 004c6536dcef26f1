/**
 * Receive time in nanoseconds since the epoch: wall clock at start plus the monotonic clock
 * since, so that a clock step (NTP) does not reorder a recording; strictly increasing, so that
 * each publish has its own log time (replay groups a publish's parts by it).
 */
export class NsClock {
  private readonly baseWall = BigInt(Date.now()) * 1_000_000n;
  private readonly baseHr = process.hrtime.bigint();
  private last = 0n;

  now(): bigint {
    let t = this.baseWall + (process.hrtime.bigint() - this.baseHr);
    if (t <= this.last) t = this.last + 1n;
    this.last = t;
    return t;
  }
}
