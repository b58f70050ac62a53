/**
 * What a training run needs around the workers: the data (loaded, split and
 * sharded once per run), the check that every worker holds the same weights
 * after every step, and the weight snapshots evaluated into accuracy rows.
 * (TensorFlow.js itself is loaded only by trainer.ts, when a run trains.)
 */
import type { Training } from '../scenario/types.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { loadDataset, permutation, shard, splitDataset, subset, type Dataset } from './data.js';
import type { Trainer } from './trainer.js';
import type { TrainingEvents } from './worker.js';
import type { Averaging } from '../sync/schedulers/definition.js';
import { hfaRound } from '../sync/schedulers/hips.js';
import { dataCenterOfName } from '../model/data-centers.js';

/** Training samples the train_loss / train_accuracy columns are measured on. */
export const TRAIN_EVAL_SAMPLES = 2000;

export interface TrainingData {
  train: Dataset;
  test: Dataset;
  /** A fixed sample of the training set, for train loss and accuracy. */
  trainEval: Dataset;
  /** One shard of the training set per worker. */
  shards: Dataset[];
  source: string;
  /** A trainer for worker `index` (its shard), or with no data (index null: evaluation only). */
  makeTrainer(index: number | null, label: string): Trainer;
}

export function prepareData(
  training: Training, seed: number, workers: number, makeTrainer: (data: Dataset | null, label: string) => Trainer,
): TrainingData {
  const all = loadDataset(training.dataset, seed);
  const { train, test } = splitDataset(all, training.testFraction, seed);
  if (test.size === 0 || train.size === 0) throw new UserError(`workload.train.test_fraction ${training.testFraction} leaves an empty train or test set of ${all.size} samples`);
  const shards = Array.from({ length: workers }, (_, w) => shard(train, w, workers, seed));
  const smallest = Math.min(...shards.map((s) => s.size));
  if (smallest < training.batch) {
    throw new UserError(`workload.train.batch: ${training.batch} per worker, but ${workers} workers share ${train.size} training samples (${smallest} each at the least); use a smaller batch, fewer workers or more data`);
  }
  const evalRows = permutation(train.size, new Rng(seed, 'train-eval')).subarray(0, Math.min(TRAIN_EVAL_SAMPLES, train.size));
  return {
    train, test, trainEval: subset(train, evalRows),
    shards,
    source: all.source,
    makeTrainer: (index, label) => makeTrainer(index === null ? null : shards[index], label),
  };
}

export interface AccuracyRow {
  /** Optimizer steps taken (iterations completed). */
  steps: number;
  /** Run time (s) at which worker 0 held these weights. */
  at: number;
  /** Training samples consumed, over all workers. */
  samples: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

export interface WeightSnapshot {
  steps: number;
  at: number;
  weights: Float32Array;
}

/** Collects the workers' step reports and worker 0's snapshots of one scheduler's run. */
export class TrainingRecord implements TrainingEvents {
  /** Per "iteration group": each worker's checksum. */
  private readonly checksums = new Map<string, Map<number, string>>();
  /** (Iteration, group) pairs every worker of the group reported, with the same weights. */
  agreed = 0;
  readonly snapshots: WeightSnapshot[] = [];

  /**
   * `agreesAt`: the iterations after which the workers hold the same
   * weights (all of them, unless workers average parameters); `groupOf`:
   * which workers must agree (a name per worker; absent: all of them).
   */
  constructor(
    private readonly workers: string[],
    private readonly agreesAt: (iteration: number) => boolean = () => true,
    private readonly groupOf: (worker: string) => string = () => '',
  ) {}

  /** How many agreements `iterations` iterations must bring (per iteration that agrees, one per group). */
  agreementsDue(iterations: number): number {
    let due = 0;
    for (let i = 0; i < iterations; i++) if (this.agreesAt(i)) due++;
    return due * new Set(this.workers.map(this.groupOf)).size;
  }

  stepped(worker: number, iteration: number, checksum: string): void {
    const group = this.groupOf(this.workers[worker]);
    const key = `${iteration} ${group}`;
    let sums = this.checksums.get(key);
    if (!sums) this.checksums.set(key, (sums = new Map()));
    sums.set(worker, checksum);
    if (sums.size < this.groupSize(group)) return;
    const distinct = new Set(sums.values());
    if (distinct.size > 1) {
      const listing = [...sums].sort(([a], [b]) => a - b).map(([w, c]) => `${this.workers[w]} ${c}`).join(', ');
      throw new UserError(`training failed: the workers' weights diverged after iteration ${iteration} (weight checksums: ${listing}); every worker must apply the same averaged gradient`, 1);
    }
    this.checksums.delete(key);
    this.agreed++;
  }

  private readonly sizes = new Map<string, number>();

  private groupSize(group: string): number {
    let size = this.sizes.get(group);
    if (size === undefined) this.sizes.set(group, (size = this.workers.filter((w) => this.groupOf(w) === group).length));
    return size;
  }

  snapshot(steps: number, at: number, weights: Float32Array): void {
    this.snapshots.push({ steps, at, weights });
  }
}

/** Evaluate snapshots into accuracy rows (on a trainer used only for evaluation). */
export function evaluateSnapshots(snapshots: WeightSnapshot[], evaluator: Trainer, data: TrainingData, samplesPerStep: number): AccuracyRow[] {
  return snapshots.map((s) => {
    evaluator.setWeights(s.weights);
    const train = evaluator.evaluate(data.trainEval);
    const test = evaluator.evaluate(data.test);
    return {
      steps: s.steps, at: s.at, samples: s.steps * samplesPerStep,
      trainLoss: train.loss, trainAccuracy: train.accuracy, testLoss: test.loss, testAccuracy: test.accuracy,
    };
  });
}

/** The first time test accuracy reached `target`, or null. */
export function timeToAccuracy(rows: AccuracyRow[], target: number): number | null {
  return rows.find((r) => r.testAccuracy >= target)?.at ?? null;
}

/**
 * The record of a run's training: with parameter averaging (HFA) the
 * workers agree after each round across data centers only; asynchronous
 * across data centers (MixedSync), each data center's workers agree among
 * themselves after every iteration.
 */
export function trainingRecord(workers: string[], averaging: Averaging | null, asynchronous = false): TrainingRecord {
  return new TrainingRecord(workers, averaging ? (i) => hfaRound(i, averaging.k1, averaging.k2) === 'wan' : undefined, asynchronous ? dataCenterOfName : undefined);
}
