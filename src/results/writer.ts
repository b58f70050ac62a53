/**
 * Writes a run's results as the run goes: manifest.json first (status
 * "running"), then CSV rows as iterations finish, flushed at every
 * finished iteration, so a crash, an out-of-memory kill or a power cut
 * keeps every iteration finished before it. summary.csv and the final
 * manifest are written when the run ends (complete, interrupted or failed);
 * `geobed summarize` rebuilds them from the CSVs when it never did.
 */
import { asynchronousServers, compresses, parameterAveraging } from '../sync/schedulers/index.js';
import { hfaRound } from '../sync/schedulers/hips.js';
import { hasLans, longestComputeS, workerComputeS } from '../model/data-centers.js';
import { closeSync, existsSync, openSync, readdirSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify } from 'csv-stringify/sync';
import type { Scenario, SchedulerConfig } from '../scenario/types.js';
import type { IterationRecord, RecordSink, TransferRecord, UpdateRecord, WorkerIterationRecord } from '../sync/record.js';
import { binIndex, type LinkBins } from '../util/bins.js';
import { NetworkBound } from './bound.js';
import { flaggedLinks, type LinkFidelity } from './fidelity.js';
import { summaryRows, type SchedulerTimes } from './summary.js';
import { giveToSudoUser, type RunFolder } from './folder.js';
import {
  ACCURACY, FIDELITY, ITERATIONS, LINKS, REPLAY, SUMMARY, SUMMARY_WITH_LANS, TRANSFERS, UPDATES, WORKER_ITERATIONS, columnsOf, identityValues, iterationsTable, rowOf, transfersTable,
  type AccuracyPoint, type LinkChangeRow, type RunIdentity, type SummaryRow, type Table,
} from './tables.js';

/** How a run ended, as manifest.json says. */
export type RunStatus = 'running' | 'complete' | 'interrupted' | 'failed';

/**
 * A CSV file written a batch of rows at a time; compressed, each batch is
 * a gzip member of its own (results/table-files.ts), so every batch on
 * disk is whole.
 */
class CsvWriter {
  private readonly fd: number;
  private batch: unknown[][] = [];

  constructor(path: string, columns: string[], private readonly compress = false) {
    this.fd = openSync(path, 'w');
    this.write(stringify([], { header: true, columns }));
  }

  private write(text: string): void {
    writeSync(this.fd, this.compress ? gzipSync(text) : Buffer.from(text));
  }

  add(row: unknown[]): void {
    this.batch.push(row);
    if (this.batch.length >= 10_000) this.flush();
  }

  flush(): void {
    if (this.batch.length) this.write(stringify(this.batch));
    this.batch = [];
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Everything a results folder holds, relative to it, sorted. */
function listFiles(dir: string, under = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(under).sort()) {
    const path = join(under, entry);
    if (statSync(path).isDirectory()) out.push(...listFiles(dir, path));
    else out.push(relative(dir, path));
  }
  return out;
}

/** Write JSON so that a reader never sees half of it (temp file, then rename). */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

export class RunWriter {
  private readonly csv = new Map<string, CsvWriter>();
  private readonly identity: (string | number)[];
  private readonly bound: NetworkBound;
  private readonly schedulers: SchedulerTimes[] = [];
  private readonly stats: Record<string, unknown>[] = [];
  private closed = false;

  /**
   * `dir` is reserved and empty. Writes the manifest (status running) and
   * every CSV's header now: a folder that cannot be written fails here,
   * before the run.
   */
  readonly dir: string;

  /**
   * By label, the iterations bounded by compute alone: parameter
   * averaging's (HFA) between rounds across data centers, and every
   * iteration of an asynchronous scheduler (MixedSync), whose workers wait
   * for no other data center.
   */
  private readonly computeOnly = new Map<string, (iteration: number) => boolean>();
  /** iterations.csv's columns: with LAN and WAN bytes apart where a data center has a LAN. */
  private readonly iterations: typeof ITERATIONS;
  /** transfers.csv's columns: with each message's network (lan or wan) where a data center has a LAN. */
  private readonly transfers: typeof TRANSFERS;

  constructor(
    readonly folder: RunFolder,
    private readonly scenario: Scenario,
    readonly id: RunIdentity,
    private manifest: Record<string, unknown>,
    emulated: boolean,
  ) {
    this.dir = folder.dir;
    this.identity = identityValues(id);
    this.bound = new NetworkBound(scenario);
    this.manifest = {
      ...manifest,
      bound_cuts: this.bound.searchesCuts
        ? 'each worker\'s out-cut, every worker\'s in-cut, and the smallest cut from the last worker (max-flow)'
        : 'each worker\'s out-cut and every worker\'s in-cut; the max-flow cut search is left out on a mesh this large (workers^2 x links > 1e8), so the bound may be looser',
    };
    this.writeManifest('running');
    const compressed = scenario.schedulers.some(compresses);
    this.iterations = iterationsTable(hasLans(scenario.dataCenters), compressed);
    this.transfers = transfersTable(hasLans(scenario.dataCenters), compressed);
    const asynchronous = scenario.schedulers.some((c) => asynchronousServers(c, scenario) !== null);
    const tables: Table<never>[] = [
      this.iterations, ...(scenario.results.transfers ? [this.transfers] : []), LINKS, ...(asynchronous ? [UPDATES, WORKER_ITERATIONS] : []),
      ...(scenario.workload.training ? [ACCURACY] : []), ...(emulated ? [REPLAY, FIDELITY] : []),
    ] as Table<never>[];
    // (summary.csv, written at the end, stays plain: the one table a reader opens first)
    const compress = scenario.results.compress;
    for (const t of tables) this.csv.set(t.file, new CsvWriter(join(this.dir, compress ? `${t.file}.gz` : t.file), columnsOf(t), compress));
  }

  private add<R>(table: Table<R>, row: R): void {
    this.csv.get(table.file)?.add(rowOf(table, this.identity, row));
  }

  private flush(): void {
    for (const w of this.csv.values()) w.flush();
  }

  /** The records of one scheduler's run, as they happen. */
  scheduler(config: SchedulerConfig): SchedulerRecords {
    const times: SchedulerTimes = {
      label: config.label, name: config.name, times: [], bounds: [], accuracy: this.scenario.workload.training ? [] : null,
      ...(hasLans(this.scenario.dataCenters) ? { lanBytes: [], wanBytes: [] } : {}),
    };
    this.schedulers.push(times);
    const averaging = parameterAveraging(config);
    this.computeOnly.set(config.label, asynchronousServers(config, this.scenario)
      ? () => true
      : averaging ? (i) => hfaRound(i, averaging.k1, averaging.k2) !== 'wan' : () => false);
    return new SchedulerRecords(this, config.label, times);
  }

  /** @internal (SchedulerRecords) */
  iterationRow(label: string, times: SchedulerTimes, record: IterationRecord, previous: IterationRecord | null): void {
    const seconds = record.end - (previous?.end ?? 0);
    const bound = this.iterationBound(record, previous, this.computeOnly.get(label)!(record.iteration));
    times.times.push(seconds);
    times.bounds.push(bound);
    times.lanBytes?.push(record.lanBytes ?? 0);
    times.wanBytes?.push(record.wanBytes ?? record.bytes);
    this.add(this.iterations, { scheduler: label, record, seconds, bound });
    this.flush();
  }

  /**
   * The network's lower bound on an iteration (results/bound.ts): the late
   * worker of the last iteration computes, then its gradient must cross
   * every cut. Workers' compute times may differ (stragglers): the late
   * worker's own counts; in the first iteration every worker plays the late
   * one, so the shortest compute starts the cuts, and the longest alone is
   * a bound too (every gradient is needed). An iteration that waits for
   * no other data center (`computeOnly`: parameter averaging between
   * rounds across data centers; an asynchronous scheduler's) is bounded by
   * its compute alone: the late worker of the last iteration ends this one
   * no sooner than its own compute after it ended that one.
   */
  private iterationBound(record: IterationRecord, previous: IterationRecord | null, computeOnly: boolean): number {
    const { dataCenters, workload, workers } = this.scenario;
    const computeOf = (w: string) => workerComputeS(dataCenters, w, workload.computeS);
    const start = previous?.end ?? 0;
    if (computeOnly) {
      return previous ? computeOf(previous.lastWorker) : longestComputeS(dataCenters, workload.computeS);
    }
    if (previous) {
      const c = computeOf(previous.lastWorker);
      return c + this.bound.syncBound(start + c, previous.lastWorker);
    }
    const shortest = Math.min(...workers.map(computeOf));
    return Math.max(longestComputeS(dataCenters, workload.computeS), shortest + this.bound.syncBound(start + shortest, null));
  }

  /** @internal */
  transferRow(label: string, t: TransferRecord): void {
    this.add(this.transfers, { scheduler: label, t });
  }

  /** @internal */
  updateRow(label: string, u: UpdateRecord): void {
    this.add(UPDATES, { scheduler: label, u });
  }

  /** @internal */
  workerIterationRow(label: string, w: WorkerIterationRecord): void {
    this.add(WORKER_ITERATIONS, { scheduler: label, w });
  }

  /** @internal */
  linkRows(label: string, bins: LinkBins, upTo: number, endTime: number): void {
    const links = this.scenario.links;
    bins.take(upTo, (bin, perLink) => {
      const from = bin * bins.binS;
      const width = Math.min(bins.binS, endTime - from);
      for (const link of links) this.add(LINKS, { scheduler: label, link, from, width, bytes: perLink[link.id] });
    });
  }

  /** @internal */
  linkChangeRow(row: LinkChangeRow): void {
    this.add(REPLAY, row);
  }

  /** @internal */
  accuracyRows(label: string, times: SchedulerTimes, rows: AccuracyPoint[]): void {
    for (const a of rows) this.add(ACCURACY, { scheduler: label, a });
    times.accuracy = rows.map((a) => ({ at: a.at, testAccuracy: a.testAccuracy }));
  }

  /** @internal */
  fidelityRows(label: string, fidelity: LinkFidelity[]): void {
    const flagged = new Set(flaggedLinks(fidelity).map((f) => f.link));
    for (const f of fidelity) this.add(FIDELITY, { scheduler: label, link: this.scenario.links[f.link], f, flagged: flagged.has(f.link) });
  }

  /** @internal A scheduler's run ended (completely or not): its figures go into the manifest. */
  schedulerEnded(stats: Record<string, unknown>, extra: Record<string, unknown>): void {
    this.flush();
    this.stats.push(stats);
    this.manifest = { ...this.manifest, ...extra, runs: this.stats };
    this.writeManifest('running');
  }

  /** Iterations finished over every scheduler so far. */
  get finishedIterations(): number {
    return this.schedulers.reduce((s, t) => s + t.times.length, 0);
  }

  /**
   * End the run: summary.csv from every iteration that finished, the
   * manifest with its status (and the error, if any), and the list of files.
   */
  finish(status: Exclude<RunStatus, 'running'>, extra: Record<string, unknown> = {}, error?: string): SummaryRow[] {
    if (this.closed) throw new Error('RunWriter: finished twice');
    this.closed = true;
    for (const w of this.csv.values()) w.close();
    const ran = this.schedulers.filter((s) => s.times.length > 0);
    const summary = summaryRows(ran, this.scenario.workload.training?.targetAccuracy ?? null);
    const table = hasLans(this.scenario.dataCenters) ? SUMMARY_WITH_LANS : SUMMARY;
    const out = new CsvWriter(join(this.dir, table.file), columnsOf(table));
    for (const s of summary) out.add(rowOf(table, this.identity, s));
    out.close();
    this.manifest = { ...this.manifest, ...extra, runs: this.stats, finished_at: new Date().toISOString() };
    if (error !== undefined) this.manifest.error = error;
    this.writeManifest(status);
    giveToSudoUser(this.dir);
    return summary;
  }

  private writeManifest(status: RunStatus): void {
    const path = join(this.dir, 'manifest.json');
    const files = existsSync(this.dir) ? listFiles(this.dir).filter((f) => !f.startsWith('manifest.json')) : [];
    writeJsonAtomic(path, {
      ...this.manifest,
      status,
      completed_iterations: Object.fromEntries(this.schedulers.map((s) => [s.label, s.times.length])),
      files: [...files, 'manifest.json'],
    });
  }
}

/** One scheduler's records: the sink its simulation or emulation writes to. */
export class SchedulerRecords implements RecordSink {
  private previous: IterationRecord | null = null;

  constructor(private readonly writer: RunWriter, readonly label: string, private readonly times: SchedulerTimes) {}

  /** The run's results folder. */
  get dir(): string {
    return this.writer.dir;
  }

  iteration(record: IterationRecord): void {
    this.writer.iterationRow(this.label, this.times, record, this.previous);
    this.previous = record;
  }

  transfer(record: TransferRecord): void {
    this.writer.transferRow(this.label, record);
  }

  update(record: UpdateRecord): void {
    this.writer.updateRow(this.label, record);
  }

  workerIteration(record: WorkerIterationRecord): void {
    this.writer.workerIterationRow(this.label, record);
  }

  /** Hand over the link bins that are complete at `closedUntil` (every bin before its own). */
  linkBins(bins: LinkBins, closedUntil: number): void {
    this.writer.linkRows(this.label, bins, binIndex(closedUntil, bins.binS), Infinity);
  }

  /** The run ended at `endTime`: the remaining bins, the last one cut at the end. */
  lastLinkBins(bins: LinkBins, endTime: number): void {
    this.writer.linkRows(this.label, bins, Math.ceil(endTime / bins.binS - 1e-9), endTime);
  }

  linkChange(row: Omit<LinkChangeRow, 'scheduler'>): void {
    this.writer.linkChangeRow({ scheduler: this.label, ...row });
  }

  accuracy(rows: AccuracyPoint[]): void {
    this.writer.accuracyRows(this.label, this.times, rows);
  }

  fidelity(links: LinkFidelity[]): void {
    this.writer.fidelityRows(this.label, links);
  }

  /** The iterations finished so far. */
  get finished(): number {
    return this.times.times.length;
  }

  ended(stats: Record<string, unknown>, extra: Record<string, unknown> = {}): void {
    this.writer.schedulerEnded({ scheduler: this.label, ...stats }, extra);
  }
}
