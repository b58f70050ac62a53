/**
 * `geobed summarize <folder>`: rebuild summary.csv from a results folder's
 * iterations.csv (and accuracy.csv), for a run that never wrote it (killed
 * with SIGKILL, out of memory, a power cut) or to check one that did. The
 * times are those iterations.csv holds (to the microsecond), so a rebuilt
 * summary can differ from the run's own in the last digit.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tablePath, tableStream } from './table-files.js';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../util/errors.js';
import { processStartTicks } from '../util/process.js';
import { summaryRows, type SchedulerTimes } from './summary.js';
import { columnsOf, identityValues, rowOf, SUMMARY, SUMMARY_WITH_LANS, type RunIdentity, type SummaryRow } from './tables.js';
import { writeJsonAtomic, type RunStatus } from './writer.js';

interface Manifest {
  status?: RunStatus;
  identity?: RunIdentity;
  schedulers?: { name: string; label: string }[];
  training?: { target_accuracy?: number };
  owner?: { pid?: number };
  [key: string]: unknown;
}

/** Each row of a CSV as a record by column name, read as a stream (files of any size). */
async function* records(path: string): AsyncGenerator<Record<string, string>> {
  const parser = tableStream(path).pipe(parse({ columns: true, skip_empty_lines: true, relax_column_count: true }));
  for await (const row of parser) yield row as Record<string, string>;
}

export interface Rebuilt {
  summary: SummaryRow[];
  status: RunStatus;
  /** Set when the run's process is gone but the manifest still said "running". */
  markedInterrupted: boolean;
  iterations: number;
}

export async function rebuildSummary(dir: string): Promise<Rebuilt> {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new UserError(`${dir}: not a geobed results folder (no manifest.json)`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch (e) {
    throw new UserError(`${manifestPath}: cannot read it (${(e as Error).message})`);
  }
  if (!manifest.identity || !Array.isArray(manifest.schedulers)) {
    throw new UserError(`${manifestPath}: written by another version of geobed (no identity or schedulers); cannot summarize it`);
  }
  const iterationsPath = tablePath(dir, 'iterations.csv');
  if (iterationsPath === null) throw new UserError(`${dir}: no iterations.csv`);

  const byLabel = new Map<string, SchedulerTimes>();
  const nameOf = new Map(manifest.schedulers.map((s) => [s.label, s.name]));
  const runFor = (label: string): SchedulerTimes => {
    let run = byLabel.get(label);
    if (!run) {
      run = { label, name: nameOf.get(label) ?? label, times: [], bounds: [], accuracy: null };
      byLabel.set(label, run);
    }
    return run;
  };
  let count = 0;
  for await (const row of records(iterationsPath)) {
    const seconds = Number(row.iteration_s), bound = Number(row.bound_s);
    if (!row.scheduler || !Number.isFinite(seconds)) continue; // a row cut short by a crash
    const run = runFor(row.scheduler);
    run.times.push(seconds);
    run.bounds.push(bound);
    if (row.wan_bytes !== undefined) {
      (run.lanBytes ??= []).push(Number(row.lan_bytes));
      (run.wanBytes ??= []).push(Number(row.wan_bytes));
    }
    count++;
  }
  const accuracyPath = tablePath(dir, 'accuracy.csv');
  if (accuracyPath !== null) {
    for await (const row of records(accuracyPath)) {
      const at = Number(row.time_s), testAccuracy = Number(row.test_accuracy);
      if (!row.scheduler || !Number.isFinite(at) || !Number.isFinite(testAccuracy)) continue;
      const run = runFor(row.scheduler);
      (run.accuracy ??= []).push({ at, testAccuracy });
    }
  }
  // in the scenario's order
  const order = manifest.schedulers.map((s) => s.label);
  const runs = [...byLabel.values()].filter((r) => r.times.length > 0).sort((a, b) => order.indexOf(a.label) - order.indexOf(b.label));
  for (const run of runs) if (manifest.training && !run.accuracy) run.accuracy = [];
  const summary = summaryRows(runs, manifest.training?.target_accuracy ?? null);

  const identity = identityValues(manifest.identity);
  const table = runs.some((r) => r.wanBytes) ? SUMMARY_WITH_LANS : SUMMARY;
  const text = stringify([columnsOf(table), ...summary.map((s) => rowOf(table, identity, s))]);
  writeFileSync(join(dir, 'summary.csv.tmp'), text);
  renameSync(join(dir, 'summary.csv.tmp'), join(dir, 'summary.csv'));

  let markedInterrupted = false;
  const pid = manifest.owner?.pid;
  if (manifest.status === 'running' && (pid === undefined || processStartTicks(pid) === null)) {
    manifest = {
      ...manifest, status: 'interrupted', completed_iterations: Object.fromEntries(runs.map((r) => [r.label, r.times.length])),
      error: `the run's process${pid ? ` (pid ${pid})` : ''} ended without finishing it (killed?); summary.csv rebuilt by geobed summarize from the iterations it had written`,
    };
    if (Array.isArray(manifest.files) && !manifest.files.includes('summary.csv')) manifest.files = [...(manifest.files as string[]), 'summary.csv'].sort();
    writeJsonAtomic(manifestPath, manifest);
    markedInterrupted = true;
  }
  return { summary, status: manifest.status ?? 'running', markedInterrupted, iterations: count };
}
