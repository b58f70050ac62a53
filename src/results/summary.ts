/**
 * summary.csv: per scheduler, the iteration times' mean, median, p95 and
 * 95% interval, the network bound, the speedup over the baseline (the
 * first star run), and with training the time to the target accuracy. The
 * same function serves a run as it ends (exact times) and `geobed
 * summarize` (the times as iterations.csv holds them, to the microsecond).
 */
import { ratioOfMeans, summarize } from './stats.js';
import type { SummaryRow } from './tables.js';

/** What the summary needs of one scheduler's run. */
export interface SchedulerTimes {
  label: string;
  /** The scheduler (star, mlnet, ...): the first star is the baseline. */
  name: string;
  /** Each finished iteration's time and its lower bound. */
  times: number[];
  bounds: number[];
  /** Real training: (time, test accuracy) of each evaluation, in order; null without training. */
  accuracy: { at: number; testAccuracy: number }[] | null;
  /** Where data centers hold several workers: each finished iteration's bytes within data centers and between them. */
  lanBytes?: number[];
  wanBytes?: number[];
}

export function summaryRows(runs: SchedulerTimes[], targetAccuracy: number | null): SummaryRow[] {
  const rows = runs.map((run): SummaryRow => {
    const s = summarize(run.times);
    const b = run.bounds.reduce((a, x) => a + x, 0) / run.bounds.length;
    const reached = run.accuracy && targetAccuracy !== null ? run.accuracy.find((a) => a.testAccuracy >= targetAccuracy) : undefined;
    return {
      scheduler: run.label, iterations: s.n, mean_s: s.mean, median_s: s.median, p95_s: s.p95,
      ci95_low_s: s.ciLow, ci95_high_s: s.ciHigh, bound_s: b, mean_over_bound: s.mean / b,
      speedup_vs_star: NaN, speedup_ci95_low: NaN, speedup_ci95_high: NaN,
      time_to_accuracy_s: reached?.at ?? NaN,
      final_test_accuracy: run.accuracy?.at(-1)?.testAccuracy ?? NaN,
      ...(run.lanBytes && run.wanBytes ? { lan_mb_per_iteration: meanMb(run.lanBytes), wan_mb_per_iteration: meanMb(run.wanBytes) } : {}),
    };
  });
  // The baseline is the first star run (a scenario may hold several star variants).
  const base = runs.findIndex((run) => run.name === 'star' && run.times.length > 0);
  if (base >= 0) {
    rows.forEach((row, r) => {
      if (runs[r].times.length === 0) return;
      const { ratio, low, high } = r === base ? { ratio: 1, low: 1, high: 1 } : ratioOfMeans(runs[base].times, runs[r].times);
      row.speedup_vs_star = ratio;
      row.speedup_ci95_low = low;
      row.speedup_ci95_high = high;
    });
  }
  return rows;
}

function meanMb(bytes: number[]): number {
  return bytes.reduce((a, b) => a + b, 0) / bytes.length / 1e6;
}

/**
 * Iteration i's time: from the end of iteration i-1 (the first: from the
 * start of the run) to its own end. They add up to the run's length.
 */
export function iterationTimes(run: { iterations: { end: number }[] }): number[] {
  return run.iterations.map((it, i) => it.end - (i === 0 ? 0 : run.iterations[i - 1].end));
}
