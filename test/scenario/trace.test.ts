import { describe, expect, it } from 'vitest';
import { PiecewiseTrace, traceFromTable, tabulate } from '../../src/scenario/traces/piecewise.js';
import { convertMahimahi } from '../../src/scenario/traces/mahimahi.js';
import { generateTrace } from '../../src/scenario/traces/generators.js';
import { parseTraceCsv } from '../../src/scenario/traces/csv.js';
import { traceStats, sparkline } from '../../src/scenario/traces/stats.js';
import { meanRate } from '../../src/model/trace.js';
import { UserError } from '../../src/util/errors.js';

describe('piecewise traces', () => {
  const table = parseTraceCsv('# a comment\ntime_s,mbps\n0,100\n2,50\n\n3,0\n', 't.csv');

  it('holds the last rate when played once', () => {
    const once = traceFromTable(table, false);
    expect([0, 1.99, 2, 2.5, 3, 100].map((t) => once.rateAt(t))).toEqual([100, 100, 50, 50, 0, 0]);
    expect(once.nextChangeAfter(0)).toBe(2);
    expect(once.nextChangeAfter(2)).toBe(3);
    expect(once.nextChangeAfter(3)).toBe(Infinity);
  });

  it('repeats when looped, with the period of the last step (or duration_s)', () => {
    const looped = traceFromTable(table, true); // period 3 + (3 - 2) = 4
    expect([4, 6, 7.5, 8].map((t) => looped.rateAt(t))).toEqual([100, 50, 0, 100]);
    expect(looped.nextChangeAfter(3.5)).toBe(4);
    const longer = traceFromTable(table, true, 10);
    expect(longer.rateAt(9)).toBe(0);
    expect(longer.rateAt(10)).toBe(100);
  });

  // Issue 26: 8.4 s (the 0.7 s row of a 1.1 s loop's 8th pass) % 1.1 is 0.6999...: the rate at that change was the row
  // before's, so the runner skipped the change and the emulated link ran 100 ms behind its trace from then on.
  it('a looped trace has each row\'s rate at every change it announces, however many loops on', () => {
    const rates = [10, 40, 10, 40, 10, 40, 10, 40, 10, 40, 20];
    const trace = new PiecewiseTrace(rates.map((_, i) => i / 10), rates, 1.1);
    let t = 0;
    for (let k = 1; k < 1100; k++) {
      t = trace.nextChangeAfter(t);
      expect(t).toBeCloseTo(Math.round(t * 10) / 10, 9); // every 100 ms, none skipped
      expect([t, trace.rateAt(t)]).toEqual([t, rates[Math.round(t * 10) % 11]]);
      expect(trace.rateAt(t + 0.05)).toBe(rates[Math.round(t * 10) % 11]);
    }
  });

  it('changes only when the rate does: equal neighbours merge, a loop of one rate is a constant', () => {
    const repeated = new PiecewiseTrace([0, 1, 2, 3], [10, 10, 20, 20], 4);
    expect([0, 0.5, 2, 4, 6].map((t) => repeated.nextChangeAfter(t))).toEqual([2, 2, 4, 6, 8]);
    const millisecondLoop = new PiecewiseTrace([0], [12.032], 0.001); // Mahimahi's "1" trace
    expect(millisecondLoop.nextChangeAfter(0)).toBe(Infinity);
    expect(millisecondLoop.rateAt(123.4567)).toBe(12.032);
    // far into a loop with a period that floats cannot hit exactly, still strictly later
    const tenths = new PiecewiseTrace([0, 0.05], [1, 2], 0.1);
    let t = 0;
    for (let k = 0; k < 20_000; k++) {
      const next = tenths.nextChangeAfter(t);
      expect(next).toBeGreaterThan(t);
      t = next;
    }
    expect(t).toBeCloseTo(1000, 6);
  });

  it('computes time-weighted statistics', () => {
    const s = traceStats(traceFromTable(table, true), 4);
    expect(s.min).toBe(0);
    expect(s.max).toBe(100);
    expect(s.mean).toBeCloseTo((100 * 2 + 50 + 0) / 4, 9);
    expect(meanRate(traceFromTable(table, false), 1, 3)).toBeCloseTo(75, 9);
    expect(sparkline(traceFromTable(table, true), 4, 4)).toBe('██▅▁');
  });

  it('rejects malformed CSV with the file and line', () => {
    expect(() => parseTraceCsv('time,rate\n0,1\n', 'x.csv')).toThrow(/x\.csv:1: expected the header "time_s,mbps"/);
    expect(() => parseTraceCsv('time_s,mbps\n0,1,2\n', 'x.csv')).toThrow(/x\.csv:2: expected a row/);
    expect(() => parseTraceCsv('time_s,mbps\n0,-1\n', 'x.csv')).toThrow(/x\.csv:2: mbps must be >= 0/);
    expect(() => parseTraceCsv('time_s,mbps\n1,5\n', 'x.csv')).toThrow(/first row must be at time_s 0/);
    expect(() => parseTraceCsv('time_s,mbps\n', 'x.csv')).toThrow(UserError);
  });
});

describe('generators', () => {
  it('redraw-uniform: a new uniform draw in [min, max] every period, the same for the same seed', () => {
    const spec = { generator: 'redraw-uniform' as const, min_mbps: 20, max_mbps: 155, period_s: 180 };
    const a = generateTrace(spec, 5, 'x');
    const rates = Array.from({ length: 500 }, (_, i) => a.rateAt(i * 180 + 1));
    expect(Math.min(...rates)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...rates)).toBeLessThanOrEqual(155);
    const mean = rates.reduce((s, r) => s + r, 0) / rates.length;
    expect(mean).toBeGreaterThan(80);
    expect(mean).toBeLessThan(95); // 87.5 expected
    expect(a.nextChangeAfter(0)).toBe(180);
    expect(a.rateAt(179)).toBe(a.rateAt(0));
    const b = generateTrace(spec, 5, 'x');
    expect(Array.from({ length: 500 }, (_, i) => b.rateAt(i * 180 + 1))).toEqual(rates);
    expect(generateTrace(spec, 6, 'x').rateAt(1)).not.toBe(rates[0]);
    expect(generateTrace(spec, 5, 'y').rateAt(1)).not.toBe(rates[0]);
  });

  it('the realisation does not depend on the order of queries', () => {
    const spec = { generator: 'random-walk' as const, start_mbps: 50, step_mbps: 10, min_mbps: 0, max_mbps: 100, period_s: 1 };
    const forward = generateTrace(spec, 1, 'l');
    const backward = generateTrace(spec, 1, 'l');
    const ts = Array.from({ length: 50 }, (_, i) => i + 0.5);
    const f = ts.map((t) => forward.rateAt(t));
    backward.rateAt(60);
    expect([...ts].reverse().map((t) => backward.rateAt(t)).reverse()).toEqual(f);
  });

  it('random-walk: steps at most step_mbps, clamped to [min, max]', () => {
    const t = generateTrace({ generator: 'random-walk', start_mbps: 50, step_mbps: 30, min_mbps: 10, max_mbps: 90, period_s: 2 }, 3, 'l');
    const rates = Array.from({ length: 300 }, (_, i) => t.rateAt(i * 2));
    expect(rates[0]).toBe(50);
    for (let i = 1; i < rates.length; i++) expect(Math.abs(rates[i] - rates[i - 1])).toBeLessThanOrEqual(30 + 1e-9);
    expect(Math.min(...rates)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...rates)).toBeLessThanOrEqual(90);
  });

  it('on-off: alternates on_mbps and outages at 0 with the given mean durations', () => {
    const t = generateTrace({ generator: 'on-off', on_mbps: 40, mean_on_s: 10, mean_off_s: 2 }, 9, 'l');
    const table = tabulate(t, 20000);
    expect(new Set(table.mbps)).toEqual(new Set([40, 0]));
    const s = traceStats(t, 20000);
    expect(s.mean / 40).toBeGreaterThan(0.78); // on 10/12 = 0.83 of the time
    expect(s.mean / 40).toBeLessThan(0.88);
  });

  it('steps: the listed rates in turn, looped by default', () => {
    const t = generateTrace({ generator: 'steps', mbps: [10, 20, 30], period_s: 5 }, 1, 'l');
    expect([0, 5, 10, 15, 21].map((x) => t.rateAt(x))).toEqual([10, 20, 30, 10, 20]);
    const once = generateTrace({ generator: 'steps', mbps: [10, 20], period_s: 5, loop: false }, 1, 'l');
    expect(once.rateAt(100)).toBe(20);
  });

  it('a constant trace never changes', () => {
    expect(PiecewiseTrace.constant(7).nextChangeAfter(0)).toBe(Infinity);
  });
});

describe('Mahimahi traces', () => {
  it('converts delivery opportunities to rates in frame bytes: one opportunity per ms (a 1500-byte IP packet, as Mahimahi carries) is 12 Mbit/s of IP packets, 12.112 of frames', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => String(i + 1)).join('\n');
    const table = convertMahimahi(lines, 'm', 100);
    expect(table.times).toHaveLength(10);
    expect(table.times[3]).toBeCloseTo(0.3, 9);
    for (const r of table.mbps) expect(r).toBeCloseTo(12.112, 9);
  });

  it('counts several opportunities in the same millisecond, empty bins as 0, and the last one at time 0 of the next loop', () => {
    const table = convertMahimahi('10\n10\n10\n250\n300\n', 'm', 100);
    expect(table.mbps.map((r) => +((r * 1500) / 1514).toFixed(5))).toEqual([0.48, 0, 0.12]);
  });

  it('rejects malformed lines and decreasing timestamps', () => {
    expect(() => convertMahimahi('1\n2\nx\n', 'm.trace', 100)).toThrow(/m\.trace:3: expected a Mahimahi timestamp/);
    expect(() => convertMahimahi('5\n3\n', 'm.trace', 100)).toThrow(/m\.trace:2: timestamps must not decrease/);
    expect(() => convertMahimahi('', 'm.trace', 100)).toThrow(/empty/);
  });
});
