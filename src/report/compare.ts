/**
 * `geobed compare`: per scenario (and grid point of a sweep), each
 * scheduler's mean iteration time and time to accuracy with 95% intervals
 * across seeds, its speedup over a baseline with its interval, and its
 * ratio to the network's lower bound. Each seed is one sample: the run's
 * mean iteration time (summary.csv's mean_s), so the interval is over
 * seeds, not iterations. The speedup is the ratio of the mean times,
 * baseline / scheduler, with the delta method's interval
 * (results/stats.ts: ratioOfMeans).
 */
import { summarize, ratioOfMeans } from '../results/stats.js';
import { fixed } from '../util/format.js';
import { UserError } from '../util/errors.js';
import type { Table } from '../results/tables.js';
import { readCsvFile, type Folders } from './folders.js';

/** One run's figures for one scheduler (a row of its summary.csv). */
export interface SeedSample {
  seed: number;
  meanS: number;
  boundS: number;
  /** NaN: the target accuracy was not reached (or no training). */
  timeToAccuracyS: number;
  /** Where data centers hold several workers: mean WAN megabytes per iteration (NaN: no LANs). */
  wanMb: number;
}

export interface Group {
  scenario: string;
  mode: string;
  profile: string;
  params: Record<string, string>;
  /** Scheduler label -> its samples, in the order the labels were first seen. */
  schedulers: Map<string, SeedSample[]>;
}

export interface ComparisonRow {
  group: Group;
  scheduler: string;
  seeds: number;
  mean: { mean: number; low: number; high: number };
  baseline: string;
  speedup: { ratio: number; low: number; high: number };
  boundS: number;
  meanOverBound: number;
  /** Over the seeds that reached the target. */
  tta: { mean: number; low: number; high: number; reached: number };
  /** Mean WAN megabytes per iteration over the seeds (NaN: no LANs). */
  wanMb: number;
}

/** The runs' summary rows grouped by scenario, mode, profile and grid parameters. */
export function groupRuns(folders: Folders): Group[] {
  const groups = new Map<string, Group>();
  for (const run of folders.runs) {
    const id = run.manifest.identity;
    if (!id) throw new UserError(`${run.dir}: manifest.json has no identity (written by an older geobed); rerun it`);
    const rows = readCsvFile(run.dir, 'summary.csv');
    if (rows.length === 0) throw new UserError(`${run.dir}: no summary.csv (geobed summarize ${run.dir} rebuilds it)`);
    const key = JSON.stringify([id.scenario, id.mode, id.profile, folders.parameters.map((p) => run.params[p] ?? '')]);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { scenario: id.scenario, mode: id.mode, profile: id.profile, params: run.params, schedulers: new Map() }));
    for (const row of rows) {
      const samples = group.schedulers.get(row.scheduler) ?? [];
      samples.push({
        seed: Number(row.seed), meanS: Number(row.mean_s), boundS: Number(row.bound_s), timeToAccuracyS: row.time_to_accuracy_s === '' ? NaN : Number(row.time_to_accuracy_s),
        wanMb: row.wan_mb_per_iteration === undefined || row.wan_mb_per_iteration === '' ? NaN : Number(row.wan_mb_per_iteration),
      });
      group.schedulers.set(row.scheduler, samples);
    }
  }
  return [...groups.values()];
}

/** The baseline of a group: the one asked for, else star if it ran, else the first scheduler. */
function baselineOf(group: Group, asked: string | undefined): string {
  const labels = [...group.schedulers.keys()];
  if (asked !== undefined) {
    if (!group.schedulers.has(asked)) {
      throw new UserError(`--baseline ${asked}: ${describeGroup(group)} has no runs of it; its schedulers are ${labels.join(', ')}`);
    }
    return asked;
  }
  return labels.includes('star') ? 'star' : labels[0];
}

export function describeGroup(g: Group): string {
  const params = Object.entries(g.params).map(([p, v]) => `${p}=${v}`);
  return `${g.scenario} (${[g.mode, g.profile, ...params].join(', ')})`;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export function compareGroups(groups: Group[], baseline?: string): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  for (const group of groups) {
    const base = baselineOf(group, baseline);
    const baseMeans = group.schedulers.get(base)!.map((s) => s.meanS);
    for (const [scheduler, samples] of group.schedulers) {
      const means = samples.map((s) => s.meanS);
      const m = summarize(means);
      const reached = samples.map((s) => s.timeToAccuracyS).filter(Number.isFinite);
      const t = summarize(reached);
      const boundS = mean(samples.map((s) => s.boundS));
      rows.push({
        group, scheduler, seeds: samples.length,
        mean: { mean: m.mean, low: m.ciLow, high: m.ciHigh },
        baseline: base,
        // (the baseline over itself is exactly 1; with one seed no scheduler has an interval, the baseline neither)
        speedup: scheduler === base ? { ratio: 1, low: samples.length > 1 ? 1 : NaN, high: samples.length > 1 ? 1 : NaN } : ratioOfMeans(baseMeans, means),
        boundS, meanOverBound: m.mean / boundS,
        tta: { mean: t.mean, low: t.ciLow, high: t.ciHigh, reached: reached.length },
        wanMb: mean(samples.map((s) => s.wanMb)),
      });
    }
  }
  return rows;
}

/** comparison.csv's columns, declared once (the Markdown and LaTeX tables show a selection of the same values); `lans`: WAN megabytes per iteration too. */
export function comparisonTable(parameters: string[], lans = false): Table<ComparisonRow> {
  return {
    file: 'comparison.csv',
    columns: [
      ['scenario', (r) => r.group.scenario],
      ['mode', (r) => r.group.mode],
      ['profile', (r) => r.group.profile],
      ...parameters.map((p): [string, (r: ComparisonRow) => string] => [p, (r) => r.group.params[p] ?? '']),
      ['scheduler', (r) => r.scheduler],
      ['seeds', (r) => r.seeds],
      ['mean_s', (r) => fixed(r.mean.mean)],
      ['ci95_low_s', (r) => fixed(r.mean.low)],
      ['ci95_high_s', (r) => fixed(r.mean.high)],
      ['baseline', (r) => r.baseline],
      ['speedup', (r) => fixed(r.speedup.ratio, 4)],
      ['speedup_ci95_low', (r) => fixed(r.speedup.low, 4)],
      ['speedup_ci95_high', (r) => fixed(r.speedup.high, 4)],
      ['bound_s', (r) => fixed(r.boundS)],
      ['mean_over_bound', (r) => fixed(r.meanOverBound, 4)],
      ['time_to_accuracy_s', (r) => fixed(r.tta.mean)],
      ['tta_ci95_low_s', (r) => fixed(r.tta.low)],
      ['tta_ci95_high_s', (r) => fixed(r.tta.high)],
      ['tta_reached_seeds', (r) => r.tta.reached],
      ...(lans ? [['wan_mb_per_iteration', (r: ComparisonRow) => fixed(r.wanMb)] as const] : []),
    ],
  };
}
