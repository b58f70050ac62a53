/**
 * Write a run's results: manifest.json and tidy CSVs, one row per
 * observation. Everything is written into "<dir>.partial" and renamed at
 * the end, so a failed run leaves nothing behind.
 */
import { closeSync, cpSync, existsSync, readdirSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import type { Scenario } from '../scenario/types.js';
import type { SchedulerRun } from '../run/simulate.js';
import { meanRate } from '../scenario/trace.js';
import { bytesPerSecToMbps, fixed } from '../util/format.js';
import { flaggedLinks, type LinkFidelity } from './fidelity.js';
import { NetworkBound } from './bound.js';
import { ratioOfMeans, summarize } from './stats.js';
import { timeToAccuracy } from '../train/session.js';

export interface SummaryRow {
  scheduler: string;
  iterations: number;
  mean_s: number;
  median_s: number;
  p95_s: number;
  ci95_low_s: number;
  ci95_high_s: number;
  bound_s: number;
  mean_over_bound: number;
  speedup_vs_star: number;
  speedup_ci95_low: number;
  speedup_ci95_high: number;
  /** Real training: the first time test accuracy reached the target (NaN: never), and the last evaluation's test accuracy. */
  time_to_accuracy_s: number;
  final_test_accuracy: number;
}

export interface RunResults {
  summary: SummaryRow[];
  files: string[];
}

export const ITERATION_COLUMNS = ['scheduler', 'iteration', 'plan_version', 'start_s', 'end_s', 'iteration_s', 'compute_s', 'sync_s', 'bytes', 'bound_s'];
export const TRANSFER_COLUMNS = ['scheduler', 'iteration', 'chunk', 'kind', 'aux', 'from', 'to', 'bytes', 'enqueued_s', 'sent_s', 'delivered_s', 'mbps'];
export const LINK_COLUMNS = ['scheduler', 'link', 'from', 'to', 'bin_start_s', 'bin_s', 'capacity_mbps', 'carried_mbps'];
export const SUMMARY_COLUMNS = [
  'scheduler', 'iterations', 'mean_s', 'median_s', 'p95_s', 'ci95_low_s', 'ci95_high_s', 'bound_s', 'mean_over_bound',
  'speedup_vs_star', 'speedup_ci95_low', 'speedup_ci95_high', 'time_to_accuracy_s', 'final_test_accuracy',
];
export const ACCURACY_COLUMNS = ['scheduler', 'iteration', 'time_s', 'samples', 'train_loss', 'train_accuracy', 'test_loss', 'test_accuracy'];

/**
 * Iteration i's time: from the end of iteration i-1 (the first: from the
 * start of the run) to its own end. They add up to the run's length.
 */
export function iterationTimes(run: SchedulerRun): number[] {
  return run.iterations.map((it, i) => it.end - (i === 0 ? 0 : run.iterations[i - 1].end));
}

/** Per-iteration lower bounds of one run (compute time + network bound). */
function iterationBounds(scenario: Scenario, run: SchedulerRun, bound: NetworkBound): number[] {
  const compute = scenario.workload.computeS;
  return run.iterations.map((_, i) => {
    const previous = i === 0 ? null : run.iterations[i - 1];
    return compute + bound.syncBound((previous?.end ?? 0) + compute, previous?.lastWorker ?? null);
  });
}

export function summaryRows(scenario: Scenario, runs: SchedulerRun[], bounds: number[][]): SummaryRow[] {
  const rows = runs.map((run, r) => {
    const s = summarize(iterationTimes(run));
    const b = bounds[r].reduce((a, x) => a + x, 0) / bounds[r].length;
    return {
      scheduler: run.label, iterations: s.n, mean_s: s.mean, median_s: s.median, p95_s: s.p95,
      ci95_low_s: s.ciLow, ci95_high_s: s.ciHigh, bound_s: b, mean_over_bound: s.mean / b,
      speedup_vs_star: NaN, speedup_ci95_low: NaN, speedup_ci95_high: NaN,
      time_to_accuracy_s: run.training ? timeToAccuracy(run.training.accuracy, scenario.workload.training!.targetAccuracy) ?? NaN : NaN,
      final_test_accuracy: run.training?.accuracy.at(-1)?.testAccuracy ?? NaN,
    };
  });
  // The baseline is the first star run (a scenario may hold several star variants).
  const base = runs.findIndex((run) => run.scheduler === 'star');
  if (base >= 0) {
    rows.forEach((row, r) => {
      const { ratio, low, high } = r === base ? { ratio: 1, low: 1, high: 1 } : ratioOfMeans(iterationTimes(runs[base]), iterationTimes(runs[r]));
      row.speedup_vs_star = ratio;
      row.speedup_ci95_low = low;
      row.speedup_ci95_high = high;
    });
  }
  return rows;
}

/** A CSV file written a batch of rows at a time, so large tables never sit in memory whole. */
class CsvWriter {
  private readonly fd: number;
  private batch: unknown[][] = [];

  constructor(path: string, columns: string[]) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, stringify([], { header: true, columns }));
  }

  add(row: unknown[]): void {
    this.batch.push(row);
    if (this.batch.length >= 10_000) this.flush();
  }

  private flush(): void {
    if (this.batch.length) writeSync(this.fd, stringify(this.batch));
    this.batch = [];
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export const REPLAY_COLUMNS = ['scheduler', 'link', 'scheduled_s', 'applied_s', 'lag_ms', 'mbps'];
export const FIDELITY_COLUMNS = ['scheduler', 'link', 'from', 'to', 'busy_s', 'allowed_mbps', 'carried_mbps', 'carried_over_allowed', 'dropped_packets', 'flagged'];

/** What only an emulated run records: the trace replay and the per-link fidelity. */
export interface EmulationRecords {
  rateChanges: { scheduler: string; link: string; scheduledS: number; appliedS: number; mbps: number }[];
  fidelity: { scheduler: string; links: LinkFidelity[] }[];
  /** A folder of per-packet logs (<scheduler>/<from>-<to>.log) to keep as packets/, or null. */
  packetLogs: string | null;
}

export function writeResults(
  dir: string, scenario: Scenario, runs: SchedulerRun[], manifest: Record<string, unknown>,
  emulation: EmulationRecords | null = null,
): RunResults {
  if (existsSync(dir)) throw new Error(`results folder ${dir} already exists`);
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    const bound = new NetworkBound(scenario);
    const bounds = runs.map((run) => iterationBounds(scenario, run, bound));
    const files: string[] = [];
    /** Write one CSV: `fill` adds its rows. */
    const csv = (name: string, columns: string[], fill: (add: (row: unknown[]) => void) => void) => {
      const out = new CsvWriter(`${partial}/${name}`, columns);
      fill((row) => out.add(row));
      out.close();
      files.push(name);
    };

    csv('iterations.csv', ITERATION_COLUMNS, (add) => runs.forEach((run, r) => {
      const times = iterationTimes(run);
      run.iterations.forEach((it, i) => add([
        run.label, it.iteration, it.planVersion, fixed(it.start), fixed(it.end), fixed(times[i]),
        fixed(it.compute), fixed(it.end - it.lastGradientReady), it.bytes, fixed(bounds[r][i]),
      ]));
    }));

    if (scenario.results.transfers) {
      csv('transfers.csv', TRANSFER_COLUMNS, (add) => {
        for (const run of runs) {
          for (const t of run.transfers) {
            add([
              run.label, t.iteration, t.chunk, t.kind, t.aux ? 1 : 0, t.from, t.to, t.bytes, fixed(t.enqueuedAt), fixed(t.sentAt), fixed(t.deliveredAt),
              t.deliveredAt > t.sentAt ? fixed((t.bytes * 8) / (t.deliveredAt - t.sentAt) / 1e6, 3) : '',
            ]);
          }
        }
      });
    }

    csv('links.csv', LINK_COLUMNS, (add) => runs.forEach((run) => linkRows(scenario, run, add)));

    if (scenario.workload.training) {
      csv('accuracy.csv', ACCURACY_COLUMNS, (add) => runs.forEach((run) => run.training?.accuracy.forEach((a) => add([
        run.label, a.steps, fixed(a.at), a.samples, fixed(a.trainLoss), fixed(a.trainAccuracy), fixed(a.testLoss), fixed(a.testAccuracy),
      ]))));
    }

    if (emulation) {
      csv('replay.csv', REPLAY_COLUMNS, (add) => emulation.rateChanges.forEach((c) => add([
        c.scheduler, c.link, fixed(c.scheduledS), fixed(c.appliedS), fixed((c.appliedS - c.scheduledS) * 1000, 3), fixed(c.mbps, 3),
      ])));
      const flagged = new Set(emulation.fidelity.flatMap((f) => flaggedLinks(f.links).map((l) => `${f.scheduler}/${l.link}`)));
      csv('fidelity.csv', FIDELITY_COLUMNS, (add) => emulation.fidelity.forEach(({ scheduler, links }) => links.forEach((f) => {
        const link = scenario.links[f.link];
        add([
          scheduler, link.name, link.from, link.to, fixed(f.busyS, 3), fixed(f.allowedMbps, 3), fixed(f.carriedMbps, 3),
          Number.isNaN(f.ratio) ? '' : fixed(f.ratio, 4), f.droppedPackets, flagged.has(`${scheduler}/${f.link}`) ? 1 : 0,
        ]);
      })));
    }

    if (emulation?.packetLogs) {
      cpSync(emulation.packetLogs, `${partial}/packets`, { recursive: true });
      for (const scheduler of readdirSync(`${partial}/packets`).sort()) {
        for (const log of readdirSync(`${partial}/packets/${scheduler}`).sort()) files.push(`packets/${scheduler}/${log}`);
      }
    }

    const summary = summaryRows(scenario, runs, bounds);
    csv('summary.csv', SUMMARY_COLUMNS, (add) => summary.forEach((s) => add([
      s.scheduler, s.iterations, fixed(s.mean_s), fixed(s.median_s), fixed(s.p95_s), fixed(s.ci95_low_s), fixed(s.ci95_high_s),
      fixed(s.bound_s), fixed(s.mean_over_bound, 4), fixed(s.speedup_vs_star, 4), fixed(s.speedup_ci95_low, 4), fixed(s.speedup_ci95_high, 4),
      fixed(s.time_to_accuracy_s), fixed(s.final_test_accuracy),
    ])));

    writeFileSync(`${partial}/manifest.json`, `${JSON.stringify({ ...manifest, files: [...files, 'manifest.json'] }, null, 2)}\n`);
    renameSync(partial, dir);
    return { summary, files };
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw e;
  }
}

function linkRows(scenario: Scenario, run: SchedulerRun, add: (row: unknown[]) => void): void {
  const { carriedBytes, binS } = run.linkUsage;
  const bins = Math.ceil(run.endTime / binS - 1e-9);
  for (const link of scenario.links) {
    const carried = carriedBytes[link.id];
    for (let b = 0; b < bins; b++) {
      const from = b * binS;
      const width = Math.min(binS, run.endTime - from);
      const bytes = b < carried.length ? carried[b] : 0;
      add([
        run.label, link.name, link.from, link.to, fixed(from), fixed(width),
        fixed(meanRate(link.trace, from, from + width), 3), fixed(bytesPerSecToMbps(bytes / width), 3),
      ]);
    }
  }
}
