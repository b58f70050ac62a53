/**
 * Piecewise-constant traces: segments at a rate, played once (the last rate
 * holds), looped with a period, or extended on demand by a generator; and
 * tables of (time, rate) rows, the form trace files take.
 */
import type { Trace } from '../../model/trace.js';

/** How far short of a row's start a looped trace's time may fall and be at that row (see inLoop). */
const LOOP_EDGE_S = 1e-9;

/** Produces the next segment of a generated trace: how long it lasts and its rate. */
type SegmentSource = () => { duration: number; mbps: number };

/**
 * Segments [times[i], times[i+1]) at rates[i]. Optionally looped with a
 * period, or extended on demand by a generator (which is then never looped).
 */
export class PiecewiseTrace implements Trace {
  private readonly times: number[];
  private readonly rates: number[];
  private end: number; // generated up to here
  private readonly loopPeriod: number | null;

  constructor(
    times: number[],
    rates: number[],
    loopPeriod: number | null = null,
    private readonly source: SegmentSource | null = null,
  ) {
    // Consecutive segments at the same rate are one: a change is a change of rate.
    this.times = times.filter((_, i) => i === 0 || rates[i] !== rates[i - 1]);
    this.rates = rates.filter((_, i) => i === 0 || rates[i] !== rates[i - 1]);
    // A loop of one rate is a constant (a 1 ms Mahimahi loop would otherwise change every ms).
    this.loopPeriod = loopPeriod !== null && this.rates.length > 1 ? loopPeriod : null;
    this.end = source ? 0 : Infinity;
  }

  static constant(mbps: number): PiecewiseTrace {
    return new PiecewiseTrace([0], [mbps]);
  }

  static generated(source: SegmentSource): PiecewiseTrace {
    return new PiecewiseTrace([], [], null, source);
  }

  /** Make sure generated segments cover time t (and one segment beyond). */
  private ensure(t: number): void {
    if (!this.source) return;
    while (this.end <= t) {
      const { duration, mbps } = this.source();
      this.times.push(this.end);
      this.rates.push(mbps);
      this.end += duration;
    }
  }

  /** Index of the segment holding local time t (t >= 0). */
  private indexAt(t: number): number {
    let lo = 0, hi = this.times.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.times[mid] <= t) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  rateAt(t: number): number {
    if (t < 0) t = 0;
    if (this.loopPeriod) return this.rates[this.indexAt(this.inLoop(t).local)];
    this.ensure(t);
    return this.rates[this.indexAt(t)];
  }

  /**
   * Where t falls in a looped trace: the start of its loop and the time
   * since. A change of a later loop is at k x period + its row's start, in
   * floating point: 8.4 s for the 0.7 s row of a 1.1 s loop, which t %
   * period puts at 0.6999...; every layer asks for the rate at the change
   * times nextChangeAfter gave, so a time within a nanosecond short of a
   * row's start (or of the next loop) is at it.
   */
  private inLoop(t: number): { base: number; local: number } {
    const period = this.loopPeriod!;
    let base = Math.floor(t / period) * period;
    let local = Math.max(0, t - base) + LOOP_EDGE_S;
    if (local >= period) {
      base += period;
      local = 0;
    }
    return { base, local };
  }

  nextChangeAfter(t: number): number {
    if (t < 0) return 0;
    if (this.source) {
      this.ensure(t);
      const i = this.indexAt(t);
      if (i + 1 < this.times.length) return this.times[i + 1];
      return this.end;
    }
    if (this.loopPeriod) {
      const { base, local } = this.inLoop(t);
      const i = this.indexAt(local);
      const next = i + 1 < this.times.length ? base + this.times[i + 1] : base + this.loopPeriod;
      return next > t ? next : this.nextChangeAfter(t + this.loopPeriod * 1e-9); // (rounding)
    }
    const i = this.indexAt(t);
    return i + 1 < this.times.length ? this.times[i + 1] : Infinity;
  }

  lastChange(): number | null {
    return this.source || this.loopPeriod ? null : this.times[this.times.length - 1];
  }
}

export interface TraceTable {
  times: number[];
  mbps: number[];
}

/**
 * The loop period of a table: `duration_s` if given, else the last time plus
 * the last step (the natural end of evenly binned traces).
 */
export function loopPeriodOf(table: TraceTable, durationS?: number): number {
  if (durationS !== undefined) return durationS;
  const n = table.times.length;
  if (n === 1) return 1;
  return table.times[n - 1] + (table.times[n - 1] - table.times[n - 2]);
}

export function traceFromTable(table: TraceTable, loop: boolean, durationS?: number): Trace {
  return new PiecewiseTrace(table.times, table.mbps, loop ? loopPeriodOf(table, durationS) : null);
}

/** Sample a trace as a table over [0, seconds): one row per change. */
export function tabulate(trace: Trace, seconds: number): TraceTable {
  const times: number[] = [];
  const mbps: number[] = [];
  let t = 0;
  while (t < seconds) {
    const r = trace.rateAt(t);
    if (mbps.length === 0 || mbps[mbps.length - 1] !== r) {
      times.push(t);
      mbps.push(r);
    }
    t = trace.nextChangeAfter(t);
  }
  return { times, mbps };
}
