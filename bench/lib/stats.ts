/** Small statistics helpers: percentiles of a sample, medians across rounds. */

/** Value at quantile q (0..1) of ascending `sorted`, nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[rank] as number;
}

/** p50, p99, p99.9 and max of latency samples (µs). */
export function latencySummary(samples: readonly number[]): {
  p50: number;
  p99: number;
  p999: number;
  max: number;
} {
  const sorted = Float64Array.from(samples).sort();
  return {
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: quantile(sorted, 1),
  };
}

export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = finite.length;
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  return n % 2 ? (finite[mid] as number) : ((finite[mid - 1] as number) + (finite[mid] as number)) / 2;
}
