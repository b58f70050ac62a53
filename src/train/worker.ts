/**
 * The training worker the node agent drives (the real counterpart of
 * SyntheticWorker). compute(): this worker's gradient on its next batch;
 * contribution(): the gradient's slice for a chunk; receivedFinal(): the
 * chunk's sum over every worker. Once every chunk's sum is in, the worker
 * averages and applies the optimizer step, then reports the weights'
 * checksum (all workers must agree) and, at evaluation points, a snapshot
 * of the weights.
 */
import { hfaRound } from '../sync/schedulers/hips.js';
import type { Averaging } from '../sync/schedulers/definition.js';
import type { Clock } from '../net/types.js';
import type { ChunkPlan } from '../sync/plan.js';
import type { WorkerModel } from '../sync/agent.js';
import type { ModelArray } from '../model/profiles.js';
import type { Trainer } from './trainer.js';
import { SparseOptimizer } from './sparse-optimizer.js';
import { wasSent } from '../sync/compression/codecs.js';

/** Where each array of the exchange starts in the flat vector; the model fills the first `modelElements`. */
export class ExchangeLayout {
  private readonly starts: number[];
  readonly total: number;

  constructor(arrays: ModelArray[], readonly modelElements: number) {
    this.starts = [];
    let at = 0;
    for (const a of arrays) {
      this.starts.push(at);
      at += a.elements;
    }
    this.total = at;
  }

  /** The chunk's range of the flat vector, cut at the end of the model's part ([start, start) when it is all padding). */
  range(chunk: ChunkPlan): [number, number] {
    const start = this.starts[chunk.array] + chunk.offset;
    return [Math.min(start, this.modelElements), Math.min(start + chunk.elements, this.modelElements)];
  }
}

export interface TrainingEvents {
  /** After every optimizer step (averaging parameters: after every round across data centers): the new weights' checksum. */
  stepped(worker: number, iteration: number, checksum: string): void;
  /** (Worker 0) the weights after `steps` steps, at evaluation points. */
  snapshot(steps: number, at: number, weights: Float32Array): void;
}

export interface TrainingWorkerOptions {
  index: number;
  count: number;
  iterations: number;
  evalEvery: number;
  /** Simulated compute time per iteration; null: the real time the step took (emulated mode). */
  computeS: number | null;
  /**
   * HFA (GeoMX examples/cnn_hfa.py): every iteration the worker steps its
   * own optimizer on its own gradient (`trainer.step`), and at a round it
   * contributes its parameters and takes the average it gets back as its
   * weights; the workers agree after each round across data centers. Absent:
   * gradients summed every iteration, and every worker applies the mean.
   */
  averaging?: Averaging | null;
  /**
   * MixedSync: the worker contributes its gradient and takes the model it
   * pulls as its weights (a global server steps, ServerModel); it agrees
   * with its own data center's workers after every iteration.
   */
  pullsModel?: boolean;
  /**
   * A sparse all-gather (StellaTrain): the worker adds up every node's
   * chunk, in chunk order, and at the iteration's end steps a sparse
   * optimizer on the indices sent (SparseOptimizer), with this momentum
   * for sgd.
   */
  gathered?: { momentum: number } | null;
}

export class TrainingWorker implements WorkerModel {
  private gradient: Float32Array | null = null;
  private readonly sum: Float32Array;
  private received = 0;
  /** A sparse all-gather: per iteration, the chunks gathered so far; and the optimizer. */
  private readonly gatheredChunks = new Map<number, { chunk: ChunkPlan; values: Float32Array }[]>();
  private readonly sparse: SparseOptimizer | null;

  constructor(
    private readonly clock: Clock,
    private readonly trainer: Trainer,
    private readonly layout: ExchangeLayout,
    private readonly options: TrainingWorkerOptions,
    private readonly events: TrainingEvents,
  ) {
    this.sum = new Float32Array(layout.modelElements);
    this.sparse = options.gathered ? new SparseOptimizer(trainer.options.optimizer, options.gathered.momentum, layout.modelElements) : null;
    if (options.index === 0) events.snapshot(0, 0, trainer.weights());
  }

  compute(_iteration: number, done: () => void): void {
    this.gradient = this.trainer.gradient().gradient;
    if (this.options.averaging) {
      // a local step; what is exchanged (at a round) is the weights it leaves
      this.trainer.apply(this.gradient);
      this.gradient = this.trainer.weights();
    }
    if (this.options.computeS === null) done();
    else this.clock.setTimer(this.options.computeS, done);
  }

  /** Layered compute (P3): the simulated compute time to split over the layers (null in emulated runs: the step's real time is only known after it). */
  get layeredComputeS(): number | null {
    return this.options.computeS;
  }

  computeNow(): void {
    this.gradient = this.trainer.gradient().gradient;
  }

  contribution(_iteration: number, chunk: ChunkPlan): Float32Array | null {
    const [start, end] = this.layout.range(chunk);
    // a view, not a copy: the engine copies what it sums, and this gradient is replaced, not changed, next step
    return end > start ? this.gradient!.subarray(start, end) : null;
  }

  receivedFinal(iteration: number, chunk: ChunkPlan, values: Float32Array | null): void {
    const [start, end] = this.layout.range(chunk);
    if (this.sparse) {
      if (end <= start) return;
      if (!values || values.length !== end - start) throw new Error(`iteration ${iteration} chunk ${chunk.id}: the gathered chunk arrived without its ${end - start} values`);
      let list = this.gatheredChunks.get(iteration);
      if (!list) this.gatheredChunks.set(iteration, (list = []));
      list.push({ chunk, values });
      return;
    }
    if (end > start) {
      if (!values || values.length !== end - start) throw new Error(`iteration ${iteration} chunk ${chunk.id}: the aggregated gradient arrived without its ${end - start} values`);
      this.sum.set(values, start);
    }
    this.received += chunk.elements;
    if (this.received < this.layout.total) return;
    this.received = 0;
    if (this.options.averaging) {
      this.trainer.setWeights(this.sum); // (the average: each contribution was scaled where it left)
      return;
    }
    if (this.options.pullsModel) {
      this.trainer.setWeights(this.sum);
      this.stepped(iteration);
      return;
    }
    const n = this.options.count;
    if (n > 1) for (let k = 0; k < this.sum.length; k++) this.sum[k] /= n; // the mean, in place (every chunk is rewritten next step)
    this.trainer.apply(this.sum);
    this.stepped(iteration);
  }

  iterationEnded(iteration: number): void {
    if (this.options.averaging) this.stepped(iteration);
    if (this.sparse) this.stepSparse(iteration);
  }

  /** Every node's chunk is in: their sum in chunk order (the same at every worker), its mean, and a step on the indices sent. */
  private stepSparse(iteration: number): void {
    const chunks = (this.gatheredChunks.get(iteration) ?? []).sort((a, b) => a.chunk.id - b.chunk.id);
    this.gatheredChunks.delete(iteration);
    const sum = this.sum.fill(0);
    const sent = new Uint8Array(sum.length);
    for (const { chunk, values } of chunks) {
      const [start] = this.layout.range(chunk);
      for (let k = 0; k < values.length; k++) {
        if (!wasSent(values[k])) continue;
        sent[start + k] = 1;
        sum[start + k] += values[k];
      }
    }
    const n = this.options.count;
    for (let k = 0; k < sum.length; k++) sum[k] /= n;
    const weights = this.trainer.weights();
    this.sparse!.step(weights, sum, sent);
    this.trainer.setWeights(weights);
    this.stepped(iteration);
  }

  /** After iteration `iteration`'s step: report the weights (averaging: where the workers agree) and snapshot them at evaluation points. */
  private stepped(iteration: number): void {
    const averaging = this.options.averaging;
    if (!averaging || hfaRound(iteration, averaging.k1, averaging.k2) === 'wan') this.events.stepped(this.options.index, iteration, this.trainer.checksum());
    const steps = iteration + 1;
    if (this.options.index === 0 && (steps % this.options.evalEvery === 0 || steps === this.options.iterations)) {
      this.events.snapshot(steps, this.clock.now(), this.trainer.weights());
    }
  }
}
