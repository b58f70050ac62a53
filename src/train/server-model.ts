/**
 * A global server's model under MixedSync (GeoMX's dist_async): it starts
 * from the master worker's initial weights (the run's seed: every worker
 * starts from the same) and applies each data center's update on arrival,
 * key part by key part, with the optimizer the master worker set
 * (examples/cnn.py: the training's optimizer, or DC-ASGD with --dcasgd).
 * The formulas are MXNet's (python/mxnet/optimizer/optimizer.py), per key
 * part as a server keeps them (its own update count t, its own state):
 *
 *   sgd     w -= lr g
 *   adam    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *           w -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)
 *           (Adam.update, adam_update; b1 0.9, b2 0.999, eps 1e-8)
 *   dcasgd  step = -lr (g + lambda g^2 (w - w_prev));  w_prev = w;  w += step
 *           (DCASGD.update, momentum 0, one w_prev per key, overwritten by
 *           every data center's update)
 *
 * g is the data center's mean gradient (its workers' sum / their number),
 * as every geobed optimizer step takes the mean (GeoMX pushes grad / batch
 * and leaves rescale_grad at 1, so its server steps on the sum: the same
 * Adam step up to eps; with sgd and DC-ASGD, lr is per worker here).
 */
import type { ChunkPlan } from '../sync/plan.js';
import type { ServerModel } from '../sync/agent.js';
import type { OptimizerSpec } from './trainer.js';
import type { ExchangeLayout } from './worker.js';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;

export interface ServerOptimizer {
  optimizer: OptimizerSpec;
  /** DC-ASGD's lambda instead of the optimizer (which then gives only its learning rate); null: the optimizer. */
  dcasgdLambda: number | null;
}

export class OptimizingServer implements ServerModel {
  private readonly weights: Float32Array;
  private readonly steps = new Map<number, number>();
  private m: Float32Array | null = null;
  private v: Float32Array | null = null;
  private previous: Float32Array | null = null;

  constructor(private readonly layout: ExchangeLayout, initial: Float32Array, private readonly how: ServerOptimizer) {
    if (initial.length !== layout.modelElements) throw new Error(`server model: ${initial.length} initial weights for a model of ${layout.modelElements}`);
    this.weights = Float32Array.from(initial);
    if (how.dcasgdLambda !== null) this.previous = Float32Array.from(initial);
    else if (how.optimizer.name === 'adam') {
      this.m = new Float32Array(initial.length);
      this.v = new Float32Array(initial.length);
    }
  }

  apply(chunk: ChunkPlan, sum: Float32Array | null, workers: number): void {
    const [start, end] = this.layout.range(chunk);
    if (end <= start) return;
    if (!sum || sum.length !== end - start) throw new Error(`server model: chunk ${chunk.id}'s update arrived without its ${end - start} values`);
    const t = (this.steps.get(chunk.id) ?? 0) + 1;
    this.steps.set(chunk.id, t);
    const w = this.weights;
    const lr = this.how.optimizer.learningRate;
    const lambda = this.how.dcasgdLambda;
    if (lambda !== null) {
      const prev = this.previous!;
      for (let k = start; k < end; k++) {
        const g = sum[k - start] / workers;
        const step = -lr * (g + lambda * g * g * (w[k] - prev[k]));
        prev[k] = w[k];
        w[k] += step;
      }
    } else if (this.m) {
      const m = this.m, v = this.v!;
      const lrT = (lr * Math.sqrt(1 - BETA2 ** t)) / (1 - BETA1 ** t);
      for (let k = start; k < end; k++) {
        const g = sum[k - start] / workers;
        m[k] = BETA1 * m[k] + (1 - BETA1) * g;
        v[k] = BETA2 * v[k] + (1 - BETA2) * g * g;
        w[k] -= (lrT * m[k]) / (Math.sqrt(v[k]) + EPSILON);
      }
    } else {
      for (let k = start; k < end; k++) w[k] -= (lr * sum[k - start]) / workers;
    }
  }

  value(chunk: ChunkPlan): Float32Array | null {
    const [start, end] = this.layout.range(chunk);
    // (a copy: the value travels while later updates change the model)
    return end > start ? this.weights.slice(start, end) : null;
  }
}
