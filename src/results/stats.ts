/** Summary statistics of iteration times, with a 95% confidence interval of the mean. */
import { mean, median, quantileSorted, sampleStandardDeviation, sampleVariance } from 'simple-statistics';

export interface Summary {
  n: number;
  mean: number;
  median: number;
  p95: number;
  ciLow: number;
  ciHigh: number;
}

// Two-sided 95% critical values of Student's t for 1..30 degrees of freedom.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t_{0.975, df}: exact table up to 30, Cornish-Fisher expansion beyond (error < 1e-4). */
export function tCritical95(df: number): number {
  if (df < 1) return NaN;
  if (df <= 30) return T975[df - 1];
  const z = 1.959964;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3;
}

/**
 * Mean, median, 95th percentile, and the t-interval of the mean. The
 * interval treats iterations as independent samples, which they are only
 * roughly when bandwidth changes slowly. Times cannot be negative, so the
 * interval is cut at 0 (with few iterations t's half-width can exceed the
 * mean: 12.7 standard errors for two).
 */
export function summarize(values: number[]): Summary {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, median: NaN, p95: NaN, ciLow: NaN, ciHigh: NaN };
  const m = mean(values);
  const sorted = [...values].sort((a, b) => a - b);
  const half = n > 1 ? (tCritical95(n - 1) * sampleStandardDeviation(values)) / Math.sqrt(n) : NaN;
  return { n, mean: m, median: median(values), p95: quantileSorted(sorted, 0.95), ciLow: Math.max(0, m - half), ciHigh: m + half };
}

/**
 * The ratio of two means (baseline / other: a speedup) with a 95% interval
 * by the delta method, the two samples independent; t with the smaller
 * sample's degrees of freedom, to stay on the safe side.
 */
export function ratioOfMeans(baseline: number[], other: number[]): { ratio: number; low: number; high: number } {
  const b = summarize(baseline);
  const o = summarize(other);
  const ratio = b.mean / o.mean;
  if (b.n < 2 || o.n < 2) return { ratio, low: NaN, high: NaN };
  const relVar = sampleVariance(baseline) / (b.n * b.mean ** 2) + sampleVariance(other) / (o.n * o.mean ** 2);
  const half = tCritical95(Math.min(b.n, o.n) - 1) * ratio * Math.sqrt(relVar);
  return { ratio, low: Math.max(0, ratio - half), high: ratio + half }; // a speedup is positive: cut at 0, as above
}
