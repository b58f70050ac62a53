/** A scenario after validation and expansion: what every layer below reads. */
import type { Trace } from '../model/trace.js';
import type { ModelArray } from '../model/profiles.js';
import type { SchedulerConfig } from '../sync/schedulers/index.js';
import type { DatasetSpec } from '../model/dataset.js';
import type { ModelName } from '../model/model-arrays.js';
import type { DataCenter } from '../model/data-centers.js';

/** Real training (workload.train), resolved. */
export interface Training {
  model: ModelName;
  /** Paths absolute. */
  dataset: DatasetSpec;
  testFraction: number;
  optimizer: { name: 'adam' | 'sgd'; learningRate: number };
  /** Samples per worker per iteration. */
  batch: number;
  evalEvery: number;
  targetAccuracy: number;
  /** Parameters of the model (the real part of the exchanged gradient). */
  modelElements: number;
  /** The profile the exchange is padded to, or null. */
  padProfile: string | null;
  /** Simulated compute time given by the scenario; null: calibrate on this machine. */
  computeS: number | null;
  preset: string | null;
}

/** A link's delay or loss that changes over time: a piecewise-constant trace of its values (ms or percent). */
export interface OverTime {
  trace: Trace;
  /** The largest and the smallest value it takes. */
  max: number;
  min: number;
  /** Human-readable origin (file, generator). */
  source: string;
}

export interface DirectedLinkSpec {
  /** Index of this directed link in `Scenario.links`. */
  id: number;
  from: string;
  to: string;
  /** "from->to" */
  name: string;
  /** One-way delay (at time 0, when it changes over time). */
  delayS: number;
  /** The largest delay the link takes. */
  maxDelayS: number;
  /** The delay over time (values in ms), or null: delayS throughout. */
  delayOverTime: OverTime | null;
  /** Each packet's delay is uniform in delayS +- jitterS (emulated mode). */
  jitterS: number;
  /** May jitter reorder packets (emulated mode). */
  reorder: boolean;
  /** Random loss in percent (at time 0, when it changes over time). */
  lossPercent: number;
  /** The loss over time (values in percent), or null: lossPercent throughout. */
  lossOverTime: OverTime | null;
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
  /** Real training, or null for a synthetic profile. */
  training: Training | null;
}

export type { SchedulerConfig };

export type { DataCenter };

export interface Scenario {
  name: string;
  description: string;
  /** Path of the scenario file, as given. */
  file: string;
  /** sha256 of the scenario file's text. */
  hash: string;
  /** `--set path=value` overrides applied to the file, as given. */
  overrides?: string[];
  /** Schedulers --schedulers named that the file does not list: they run with their defaults (and overrides). */
  schedulersNotInFile?: string[];
  /** The trace files it read (bandwidth, Mahimahi, delay and loss traces), with the sha256 of each. */
  inputFiles?: { path: string; sha256: string }[];
  seed: number;
  iterations: number;
  /** Every node of the network: the data centers, then the workers of those with several. */
  nodes: string[];
  /** Names of nodes that run a training worker, data center by data center. */
  workers: string[];
  /** The data centers, in the file's order; `nodes` is their names, then their workers' nodes where they have several. */
  dataCenters: DataCenter[];
  /** Links [0, wanLinks) are the WAN's; the rest, the data centers' LANs (two per worker of a data center with several). */
  wanLinks: number;
  links: DirectedLinkSpec[];
  workload: Workload;
  schedulers: SchedulerConfig[];
  network: {
    framing: 'tcp' | 'none'; queueing: 'fair' | 'fifo'; underlay: 'ip' | 'relay';
    tcp: { congestion: string; buffers: 'auto' | 'host' | number; slow_start_after_idle: boolean };
    sharing: 'max-min' | 'tcp';
  };
  results: { bin_s: number; transfers: boolean; packet_log: boolean; pcap: boolean; compress: boolean };
}
