/**
 * A bandwidth trace as every layer sees it: a piecewise-constant rate over
 * time (Mbit/s), and its integrals. Traces are made in scenario/traces/.
 */
export interface Trace {
  /** Rate in Mbit/s in force at time t (seconds). */
  rateAt(t: number): number;
  /** The first time strictly after t at which the rate may change; Infinity if never. */
  nextChangeAfter(t: number): number;
  /** When its rate last changes (its last rate holds from then on), or null when it changes for ever (looped or generated). */
  lastChange(): number | null;
}

/** Megabits the trace allows over [t0, t1]: the integral of its rate. */
export function megabitsBetween(trace: Trace, t0: number, t1: number): number {
  let t = t0, area = 0;
  while (t < t1) {
    const next = Math.min(t1, trace.nextChangeAfter(t));
    area += trace.rateAt(t) * (next - t);
    t = next;
  }
  return area;
}

/** When the trace, from t0, has allowed `megabits` (at most t1): how long a backlog of that size keeps a link busy. */
export function timeToAllow(trace: Trace, t0: number, megabits: number, t1: number): number {
  let t = t0, left = megabits;
  while (t < t1) {
    const next = Math.min(t1, trace.nextChangeAfter(t));
    const rate = trace.rateAt(t);
    if (rate * (next - t) >= left) return t + left / rate;
    left -= rate * (next - t);
    t = next;
  }
  return t1;
}

/** Time-averaged rate over [from, to). */
export function meanRate(trace: Trace, from: number, to: number): number {
  if (to <= from) return trace.rateAt(from);
  let t = from, area = 0;
  while (t < to) {
    const next = Math.min(to, trace.nextChangeAfter(t));
    area += trace.rateAt(t) * (next - t);
    t = next;
  }
  return area / (to - from);
}
