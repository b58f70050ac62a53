/**
 * The result tables: each declares its columns once, as (name, value)
 * pairs, so a CSV's header and its rows cannot drift apart. Every table
 * starts with the run's identity (scenario, mode, profile, seed), so CSVs
 * of many runs concatenate into one tidy table.
 */
import { dataCenterOfName } from '../model/data-centers.js';
import type { IterationRecord, TransferRecord, UpdateRecord, WorkerIterationRecord } from '../sync/record.js';
import type { DirectedLinkSpec } from '../scenario/types.js';
import { meanRate } from '../model/trace.js';
import { bytesPerSecToMbps, fixed } from '../util/format.js';
import type { LinkFidelity } from './fidelity.js';
import type { AccuracyRow } from '../train/session.js';

/** What tells one run's rows from another's when tables are combined. */
export interface RunIdentity {
  scenario: string;
  mode: 'sim' | 'emu';
  /** The model profile, or "custom" for gradient_mb, or the trained model (and its padding). */
  profile: string;
  seed: number;
}

type Column<R> = readonly [name: string, value: (row: R) => string | number];

export interface Table<R> {
  file: string;
  columns: readonly Column<R>[];
}

const IDENTITY_COLUMNS = ['scenario', 'mode', 'profile', 'seed'] as const;

/** A table's header: the identity columns, then its own. */
export function columnsOf<R>(table: Table<R>): string[] {
  return [...IDENTITY_COLUMNS, ...table.columns.map(([name]) => name)];
}

export function identityValues(id: RunIdentity): (string | number)[] {
  return [id.scenario, id.mode, id.profile, id.seed];
}

export function rowOf<R>(table: Table<R>, identity: (string | number)[], row: R): (string | number)[] {
  return [...identity, ...table.columns.map(([, value]) => value(row))];
}

export interface IterationRow {
  scheduler: string;
  record: IterationRecord;
  /** From the end of the previous iteration (the first: from 0) to this one's end. */
  seconds: number;
  bound: number;
}

export const ITERATIONS: Table<IterationRow> = {
  file: 'iterations.csv',
  columns: [
    ['scheduler', (r) => r.scheduler],
    ['iteration', (r) => r.record.iteration],
    ['plan_version', (r) => r.record.planVersion],
    ['start_s', (r) => fixed(r.record.start)],
    ['end_s', (r) => fixed(r.record.end)],
    ['iteration_s', (r) => fixed(r.seconds)],
    ['compute_s', (r) => fixed(r.record.compute)],
    ['sync_s', (r) => fixed(r.record.end - r.record.lastGradientReady)],
    ['bytes', (r) => r.record.bytes],
    ['bound_s', (r) => fixed(r.bound)],
  ],
};

/**
 * iterations.csv where a data center holds several workers: the bytes
 * within data centers (their LANs) and between them (the WAN) apart. (Runs
 * without LANs keep the columns they always had, byte for byte.)
 */
export const ITERATIONS_WITH_LANS: Table<IterationRow> = {
  file: ITERATIONS.file,
  columns: [
    ...ITERATIONS.columns.slice(0, -1),
    ['lan_bytes', (r) => r.record.lanBytes ?? 0],
    ['wan_bytes', (r) => r.record.wanBytes ?? r.record.bytes],
    ...ITERATIONS.columns.slice(-1),
  ],
};

export const TRANSFERS: Table<{ scheduler: string; t: TransferRecord }> = {
  file: 'transfers.csv',
  columns: [
    ['scheduler', (r) => r.scheduler],
    ['iteration', (r) => r.t.iteration],
    ['chunk', (r) => r.t.chunk],
    ['kind', (r) => r.t.kind],
    ['aux', (r) => (r.t.aux ? 1 : 0)],
    ['from', (r) => r.t.from],
    ['to', (r) => r.t.to],
    ['bytes', (r) => r.t.bytes],
    // nanoseconds: enough digits to replay the run's messages (a simulated run's times are exact)
    ['enqueued_s', (r) => fixed(r.t.enqueuedAt, 9)],
    ['sent_s', (r) => fixed(r.t.sentAt, 9)],
    ['delivered_s', (r) => fixed(r.t.deliveredAt, 9)],
    ['mbps', (r) => (r.t.deliveredAt > r.t.sentAt ? fixed((r.t.bytes * 8) / (r.t.deliveredAt - r.t.sentAt) / 1e6, 3) : '')],
  ],
};

/** transfers.csv where a data center holds several workers: whether each message stayed in its data center (lan) or crossed the WAN (wan). */
export const TRANSFERS_WITH_LANS: Table<{ scheduler: string; t: TransferRecord }> = {
  file: TRANSFERS.file,
  columns: [
    ...TRANSFERS.columns.slice(0, 7),
    ['network', (r) => (dataCenterOfName(r.t.from) === dataCenterOfName(r.t.to) ? 'lan' : 'wan')],
    ...TRANSFERS.columns.slice(7),
  ],
};

/**
 * iterations.csv's and transfers.csv's columns for a scenario: with LAN and
 * WAN apart where a data center has a LAN, and, where a scheduler
 * compresses, the bytes the messages would have been uncompressed (fp32)
 * and (per iteration) the ratio achieved, dense bytes over bytes sent.
 * (Other runs keep the columns they always had, byte for byte.)
 */
export function iterationsTable(lans: boolean, compressed: boolean): Table<IterationRow> {
  const base = lans ? ITERATIONS_WITH_LANS : ITERATIONS;
  if (!compressed) return base;
  return {
    file: base.file,
    columns: [
      ...base.columns.slice(0, -1),
      ['dense_bytes', (r) => r.record.denseBytes ?? r.record.bytes],
      ['compression_ratio', (r) => (r.record.bytes > 0 ? fixed((r.record.denseBytes ?? r.record.bytes) / r.record.bytes, 4) : '')],
      ...base.columns.slice(-1),
    ],
  };
}

export function transfersTable(lans: boolean, compressed: boolean): Table<{ scheduler: string; t: TransferRecord }> {
  const base = lans ? TRANSFERS_WITH_LANS : TRANSFERS;
  if (!compressed) return base;
  const at = base.columns.findIndex(([name]) => name === 'bytes') + 1;
  return {
    file: base.file,
    columns: [...base.columns.slice(0, at), ['dense_bytes', (r) => r.t.denseBytes ?? r.t.bytes], ...base.columns.slice(at)],
  };
}

/** updates.csv (runs with an asynchronous scheduler): every update a global server applied on its own. */
export const UPDATES: Table<{ scheduler: string; u: UpdateRecord }> = {
  file: 'updates.csv',
  columns: [
    ['scheduler', (r) => r.scheduler],
    ['server', (r) => r.u.server],
    ['chunk', (r) => r.u.chunk],
    ['array', (r) => r.u.array],
    ['data_center', (r) => r.u.dataCenter],
    ['iteration', (r) => r.u.iteration],
    ['version', (r) => r.u.version],
    ['staleness', (r) => r.u.staleness],
    ['at_s', (r) => fixed(r.u.at, 9)],
  ],
};

/** worker_iterations.csv (runs with an asynchronous scheduler, whose workers share no iteration): each worker's iterations. */
export const WORKER_ITERATIONS: Table<{ scheduler: string; w: WorkerIterationRecord }> = {
  file: 'worker_iterations.csv',
  columns: [
    ['scheduler', (r) => r.scheduler],
    ['worker', (r) => r.w.worker],
    ['data_center', (r) => dataCenterOfName(r.w.worker)],
    ['iteration', (r) => r.w.iteration],
    ['start_s', (r) => fixed(r.w.start)],
    ['end_s', (r) => fixed(r.w.end)],
    ['iteration_s', (r) => fixed(r.w.end - r.w.start)],
  ],
};

export interface LinkRow {
  scheduler: string;
  link: DirectedLinkSpec;
  from: number;
  width: number;
  bytes: number;
}

export const LINKS: Table<LinkRow> = {
  file: 'links.csv',
  columns: [
    ['scheduler', (r) => r.scheduler],
    ['link', (r) => r.link.name],
    ['from', (r) => r.link.from],
    ['to', (r) => r.link.to],
    ['bin_start_s', (r) => fixed(r.from)],
    ['bin_s', (r) => fixed(r.width)],
    ['capacity_mbps', (r) => fixed(meanRate(r.link.trace, r.from, r.from + r.width), 3)],
    ['carried_mbps', (r) => fixed(bytesPerSecToMbps(r.bytes / r.width), 3)],
    ['delay_ms', (r) => fixed(r.link.delayOverTime ? meanRate(r.link.delayOverTime.trace, r.from, r.from + r.width) : r.link.delayS * 1000, 3)],
    ['loss_percent', (r) => fixed(r.link.lossOverTime ? meanRate(r.link.lossOverTime.trace, r.from, r.from + r.width) : r.link.lossPercent, 3)],
  ],
};

/** One evaluation of worker 0's weights. */
export type AccuracyPoint = AccuracyRow;

export const ACCURACY: Table<{ scheduler: string; a: AccuracyPoint }> = {
  file: 'accuracy.csv',
  columns: [
    ['scheduler', (r) => r.scheduler],
    ['iteration', (r) => r.a.steps],
    ['time_s', (r) => fixed(r.a.at)],
    ['samples', (r) => r.a.samples],
    ['train_loss', (r) => fixed(r.a.trainLoss)],
    ['train_accuracy', (r) => fixed(r.a.trainAccuracy)],
    ['test_loss', (r) => fixed(r.a.testLoss)],
    ['test_accuracy', (r) => fixed(r.a.testAccuracy)],
  ],
};

export interface LinkChangeRow {
  scheduler: string;
  link: string;
  scheduledS: number;
  appliedS: number;
  mbps: number;
  delayMs: number;
  lossPercent: number;
}

export const REPLAY: Table<LinkChangeRow> = {
  file: 'replay.csv',
  columns: [
    ['scheduler', (r) => r.scheduler],
    ['link', (r) => r.link],
    ['scheduled_s', (r) => fixed(r.scheduledS)],
    ['applied_s', (r) => fixed(r.appliedS)],
    ['lag_ms', (r) => fixed((r.appliedS - r.scheduledS) * 1000, 3)],
    ['mbps', (r) => fixed(r.mbps, 3)],
    ['delay_ms', (r) => fixed(r.delayMs, 3)],
    ['loss_percent', (r) => fixed(r.lossPercent, 3)],
  ],
};

export const FIDELITY: Table<{ scheduler: string; link: DirectedLinkSpec; f: LinkFidelity; flagged: boolean }> = {
  file: 'fidelity.csv',
  columns: [
    ['scheduler', (r) => r.scheduler],
    ['link', (r) => r.link.name],
    ['from', (r) => r.link.from],
    ['to', (r) => r.link.to],
    ['busy_s', (r) => fixed(r.f.busyS, 3)],
    ['allowed_mbps', (r) => fixed(r.f.allowedMbps, 3)],
    ['carried_mbps', (r) => fixed(r.f.carriedMbps, 3)],
    ['carried_over_allowed', (r) => (Number.isNaN(r.f.ratio) ? '' : fixed(r.f.ratio, 4))],
    ['dropped_packets', (r) => r.f.droppedPackets],
    ['flagged', (r) => (r.flagged ? 1 : 0)],
  ],
};

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
  /** Where a data center holds several workers: mean MB per iteration within data centers (LANs) and between them (WAN). */
  lan_mb_per_iteration?: number;
  wan_mb_per_iteration?: number;
}

export const SUMMARY: Table<SummaryRow> = {
  file: 'summary.csv',
  columns: [
    ['scheduler', (s) => s.scheduler],
    ['iterations', (s) => s.iterations],
    ['mean_s', (s) => fixed(s.mean_s)],
    ['median_s', (s) => fixed(s.median_s)],
    ['p95_s', (s) => fixed(s.p95_s)],
    ['ci95_low_s', (s) => fixed(s.ci95_low_s)],
    ['ci95_high_s', (s) => fixed(s.ci95_high_s)],
    ['bound_s', (s) => fixed(s.bound_s)],
    ['mean_over_bound', (s) => fixed(s.mean_over_bound, 4)],
    ['speedup_vs_star', (s) => fixed(s.speedup_vs_star, 4)],
    ['speedup_ci95_low', (s) => fixed(s.speedup_ci95_low, 4)],
    ['speedup_ci95_high', (s) => fixed(s.speedup_ci95_high, 4)],
    ['time_to_accuracy_s', (s) => fixed(s.time_to_accuracy_s)],
    ['final_test_accuracy', (s) => fixed(s.final_test_accuracy)],
  ],
};

/** summary.csv where a data center holds several workers: LAN and WAN megabytes per iteration too (runs without LANs keep their columns). */
export const SUMMARY_WITH_LANS: Table<SummaryRow> = {
  file: SUMMARY.file,
  columns: [
    ...SUMMARY.columns,
    ['lan_mb_per_iteration', (s) => fixed(s.lan_mb_per_iteration ?? NaN)],
    ['wan_mb_per_iteration', (s) => fixed(s.wan_mb_per_iteration ?? NaN)],
  ],
};

export const ITERATION_COLUMNS = columnsOf(ITERATIONS);
export const TRANSFER_COLUMNS = columnsOf(TRANSFERS);
export const LINK_COLUMNS = columnsOf(LINKS);
export const ACCURACY_COLUMNS = columnsOf(ACCURACY);
export const REPLAY_COLUMNS = columnsOf(REPLAY);
export const FIDELITY_COLUMNS = columnsOf(FIDELITY);
export const SUMMARY_COLUMNS = columnsOf(SUMMARY);
