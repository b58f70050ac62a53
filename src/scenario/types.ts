/** A scenario after validation and expansion: what every layer below reads. */
import type { Trace } from './trace.js';
import type { ModelArray } from '../train/profiles.js';
import type { SchedulerSpec } from './schema.js';

export interface DirectedLinkSpec {
  /** Index of this directed link in `Scenario.links`. */
  id: number;
  from: string;
  to: string;
  /** "from->to" */
  name: string;
  delayS: number;
  /** Each packet's delay is uniform in delayS +- jitterS (emulated mode). */
  jitterS: number;
  /** May jitter reorder packets (emulated mode). */
  reorder: boolean;
  lossPercent: number;
  queuePackets: number | null;
  trace: Trace;
  /** Human-readable origin of the rate (constant, file, generator). */
  rateSource: string;
  /** Absolute path of a Mahimahi trace the rate comes from (`trace` is its binned rate), else null. */
  mahimahi: string | null;
}

export interface Workload {
  profile: string;
  arrays: ModelArray[];
  bytesPerElement: number;
  computeS: number;
  totalBytes: number;
}

export type SchedulerConfig = SchedulerSpec & { label: string };

export interface Scenario {
  name: string;
  description: string;
  /** Path of the scenario file, as given. */
  file: string;
  /** sha256 of the scenario file's text. */
  hash: string;
  seed: number;
  iterations: number;
  nodes: string[];
  /** Names of nodes that run a training worker. */
  workers: string[];
  links: DirectedLinkSpec[];
  workload: Workload;
  schedulers: SchedulerConfig[];
  network: { framing: 'tcp' | 'none'; queueing: 'fair' | 'fifo' };
  results: { bin_s: number; transfers: boolean; packet_log: boolean };
}
