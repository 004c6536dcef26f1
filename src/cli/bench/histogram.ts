import * as hdr from 'hdr-histogram-js';

/** Latency percentiles in microseconds (one decimal), as printed and as put in the JSON report. */
export interface LatencySummary {
  count: number;
  minUs: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/** Nanoseconds with 3 significant digits up to one minute: sub-µs detail on fast loopback runs. */
const HIGHEST_NS = 60_000_000_000;

const us = (ns: number): number => Math.round(ns / 100) / 10;

/**
 * An HDR histogram of latencies recorded in nanoseconds. The pure-JS implementation is used on
 * purpose (no WebAssembly): the single executable bundles it as plain code.
 */
export class LatencyHistogram {
  private readonly histogram = hdr.build({
    useWebAssembly: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_NS,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });

  /** Records one latency; values past one minute are clamped (a stuck call is still counted). */
  record(ns: number): void {
    this.histogram.recordValue(Math.min(Math.max(Math.round(ns), 1), HIGHEST_NS));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  summary(): LatencySummary | null {
    const h = this.histogram;
    if (h.totalCount === 0) return null;
    // Percentiles are the top of their bucket, which may lie past the exact maximum: clamp.
    const max = h.maxValue;
    const at = (percentile: number): number => us(Math.min(h.getValueAtPercentile(percentile), max));
    return {
      count: h.totalCount,
      minUs: us(h.minNonZeroValue),
      meanUs: us(h.mean),
      p50Us: at(50),
      p90Us: at(90),
      p99Us: at(99),
      p999Us: at(99.9),
      maxUs: us(max),
    };
  }
}
