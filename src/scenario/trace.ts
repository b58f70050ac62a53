/**
 * Bandwidth traces: piecewise-constant rate over time (Mbit/s), from a CSV
 * file, a seeded generator, or a constant. Played once (the last rate holds)
 * or looped.
 */
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import { readText } from '../util/files.js';
import { MAX_MBPS, MAX_TRACE_ROWS } from './limits.js';

export interface Trace {
  /** Rate in Mbit/s in force at time t (seconds). */
  rateAt(t: number): number;
  /** The first time strictly after t at which the rate may change; Infinity if never. */
  nextChangeAfter(t: number): number;
}

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
    if (this.loopPeriod) t = t % this.loopPeriod;
    this.ensure(t);
    return this.rates[this.indexAt(t)];
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
      const base = Math.floor(t / this.loopPeriod) * this.loopPeriod;
      const local = t - base;
      const i = this.indexAt(local);
      const next = i + 1 < this.times.length ? base + this.times[i + 1] : base + this.loopPeriod;
      return next > t ? next : this.nextChangeAfter(t + this.loopPeriod * 1e-9); // (rounding)
    }
    const i = this.indexAt(t);
    return i + 1 < this.times.length ? this.times[i + 1] : Infinity;
  }
}

// ---------------------------------------------------------------- generators

export type GeneratorSpec =
  | { generator: 'redraw-uniform'; min_mbps: number; max_mbps: number; period_s: number }
  | { generator: 'random-walk'; start_mbps: number; step_mbps: number; min_mbps: number; max_mbps: number; period_s: number }
  | { generator: 'on-off'; on_mbps: number; mean_on_s: number; mean_off_s: number }
  | { generator: 'steps'; mbps: number[]; period_s: number; loop?: boolean };

export const GENERATORS = ['redraw-uniform', 'random-walk', 'on-off', 'steps'] as const;

/** A generated trace; `seed` and `label` pick its random stream. */
export function generateTrace(spec: GeneratorSpec, seed: number, label: string): Trace {
  const rng = new Rng(seed, `trace:${label}`);
  switch (spec.generator) {
    case 'redraw-uniform':
      return PiecewiseTrace.generated(() => ({ duration: spec.period_s, mbps: rng.uniform(spec.min_mbps, spec.max_mbps) }));
    case 'random-walk': {
      let rate = spec.start_mbps;
      let first = true;
      return PiecewiseTrace.generated(() => {
        if (!first) rate = Math.min(spec.max_mbps, Math.max(spec.min_mbps, rate + rng.uniform(-spec.step_mbps, spec.step_mbps)));
        first = false;
        return { duration: spec.period_s, mbps: rate };
      });
    }
    case 'on-off': {
      let on = false;
      return PiecewiseTrace.generated(() => {
        on = !on;
        return on
          ? { duration: rng.exponential(spec.mean_on_s), mbps: spec.on_mbps }
          : { duration: rng.exponential(spec.mean_off_s), mbps: 0 };
      });
    }
    case 'steps': {
      const times = spec.mbps.map((_, i) => i * spec.period_s);
      const loop = spec.loop ?? true;
      return new PiecewiseTrace(times, spec.mbps, loop ? spec.mbps.length * spec.period_s : null);
    }
  }
}

// ---------------------------------------------------------------- CSV traces

export interface TraceTable {
  times: number[];
  mbps: number[];
}

/**
 * Parse a `time_s,mbps` CSV (header required; blank lines and `#` comments
 * skipped). `file` is only used in error messages.
 */
export function parseTraceCsv(text: string, file: string): TraceTable {
  const times: number[] = [];
  const mbps: number[] = [];
  const lines = text.split(/\r?\n/);
  let sawHeader = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${i + 1}`;
    if (!sawHeader) {
      if (line.replace(/\s/g, '') !== 'time_s,mbps') {
        throw new UserError(`${where}: expected the header "time_s,mbps", got "${line}"`);
      }
      sawHeader = true;
      continue;
    }
    const cells = line.split(',');
    const t = Number(cells[0]);
    const r = Number(cells[1]);
    if (cells.length !== 2 || cells[0].trim() === '' || cells[1].trim() === '' || !Number.isFinite(t) || !Number.isFinite(r)) {
      throw new UserError(`${where}: expected a row "time_s,mbps" of two numbers, got "${line}"`);
    }
    if (t < 0) throw new UserError(`${where}: time_s must be >= 0, got ${t}`);
    if (r < 0) throw new UserError(`${where}: mbps must be >= 0, got ${r}`);
    if (r > MAX_MBPS) throw new UserError(`${where}: mbps must be at most ${MAX_MBPS} (1 Tbit/s), got ${r}`);
    if (times.length === 0 && t !== 0) throw new UserError(`${where}: the first row must be at time_s 0, got ${t}`);
    if (times.length > 0 && t <= times[times.length - 1]) {
      throw new UserError(`${where}: time_s must increase from row to row (${t} after ${times[times.length - 1]})`);
    }
    times.push(t);
    mbps.push(r);
  }
  if (!sawHeader) throw new UserError(`${file}: empty trace; expected the header "time_s,mbps" and at least one row`);
  if (times.length === 0) throw new UserError(`${file}: the trace has a header but no rows`);
  return { times, mbps };
}

export function readTraceCsv(path: string): TraceTable {
  return parseTraceCsv(readText(path, 'trace file'), path);
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

/**
 * The CSV of a trace over [0, seconds), in chunks of rows, so a long trace
 * is written as it is generated, never held whole as text.
 */
export function* traceCsvChunks(trace: Trace, seconds: number, rowsPerChunk = 10_000): Generator<string> {
  let chunk = 'time_s,mbps\n';
  let rows = 0;
  let last = NaN;
  for (let t = 0; t < seconds; t = trace.nextChangeAfter(t)) {
    const r = trace.rateAt(t);
    if (r === last) continue;
    last = r;
    chunk += `${round(t)},${round(r)}\n`;
    if (++rows % rowsPerChunk === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/** About how many rows a generator makes over `seconds` (to refuse a trace that cannot be written sensibly). */
export function expectedRows(spec: GeneratorSpec, seconds: number): number {
  const mean = spec.generator === 'on-off' ? (spec.mean_on_s + spec.mean_off_s) / 2 : spec.period_s;
  return Math.ceil(seconds / mean);
}

export function formatTraceCsv(table: TraceTable): string {
  const rows = table.times.map((t, i) => `${round(t)},${round(table.mbps[i])}`);
  return `time_s,mbps\n${rows.join('\n')}\n`;
}

function round(x: number): string {
  return String(Math.round(x * 1e6) / 1e6);
}

// ---------------------------------------------------------------- Mahimahi

/** Bytes per Mahimahi delivery opportunity (one MTU-sized packet). */
export const MAHIMAHI_PACKET_BYTES = 1504;

/**
 * Convert a Mahimahi trace (one line per 1504-byte delivery opportunity, a
 * millisecond timestamp each, non-decreasing) to rates over bins of `binMs`.
 * The trace's period is its last timestamp, as Mahimahi loops it (periodS).
 */
export function convertMahimahi(text: string, file: string, binMs: number): TraceTable & { periodS: number } {
  if (!(binMs >= 1)) throw new UserError(`--bin-ms must be at least 1 (Mahimahi timestamps are whole milliseconds), got ${binMs}`);
  const stamps: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (!/^\d+$/.test(line)) {
      throw new UserError(`${file}:${i + 1}: expected a Mahimahi timestamp (a whole number of milliseconds), got "${line}"`);
    }
    const ms = Number(line);
    if (stamps.length && ms < stamps[stamps.length - 1]) {
      throw new UserError(`${file}:${i + 1}: timestamps must not decrease (${ms} after ${stamps[stamps.length - 1]})`);
    }
    stamps.push(ms);
  }
  if (stamps.length === 0) throw new UserError(`${file}: empty Mahimahi trace`);
  const period = stamps[stamps.length - 1];
  if (period <= 0) throw new UserError(`${file}: a Mahimahi trace must span more than 0 ms (its last timestamp is its period)`);
  const bins = Math.ceil(period / binMs);
  if (bins > MAX_TRACE_ROWS) {
    throw new UserError(`${file}: ${period} ms in bins of ${binMs} ms make ${bins} rates, more than geobed holds (${MAX_TRACE_ROWS}); choose a wider bin`);
  }
  const counts = new Array<number>(bins).fill(0);
  // The last opportunity falls on the period boundary: time 0 of the next loop.
  for (const ms of stamps) counts[Math.floor((ms % period) / binMs)]++;
  const times: number[] = [];
  const mbps: number[] = [];
  for (let b = 0; b < bins; b++) {
    const width = Math.min(binMs, period - b * binMs) / 1000;
    times.push((b * binMs) / 1000);
    mbps.push((counts[b] * MAHIMAHI_PACKET_BYTES * 8) / width / 1e6);
  }
  return { times, mbps, periodS: period / 1000 };
}

// ---------------------------------------------------------------- statistics

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

export interface TraceStats {
  min: number;
  max: number;
  /** Time-weighted mean over [0, seconds). */
  mean: number;
  seconds: number;
}

export function traceStats(trace: Trace, seconds: number): TraceStats {
  let t = 0, area = 0, min = Infinity, max = -Infinity;
  while (t < seconds) {
    const r = trace.rateAt(t);
    const next = Math.min(seconds, trace.nextChangeAfter(t));
    area += r * (next - t);
    min = Math.min(min, r);
    max = Math.max(max, r);
    t = next;
  }
  return { min, max, mean: area / seconds, seconds };
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

const SPARKS = '▁▂▃▄▅▆▇█';

export function sparkline(trace: Trace, seconds: number, width = 60): string {
  const values: number[] = [];
  for (let i = 0; i < width; i++) values.push(meanRate(trace, (i * seconds) / width, ((i + 1) * seconds) / width));
  const max = Math.max(...values);
  if (max <= 0) return SPARKS[0].repeat(width);
  return values.map((v) => SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * (SPARKS.length - 1) + 0.5))]).join('');
}
