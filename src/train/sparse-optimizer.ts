/**
 * StellaTrain's CPU optimizer (github kaist-ina/stellatrain
 * backend/src/engine/modules/cpu_optimize.cpp, optim/adam.cpp, optim/sgd):
 * each step takes the mean of the gathered chunks and updates only the
 * indices sent, every one of them (a zero included), per tensor:
 *
 *   adam  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2  (in double);
 *         w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *         with t the tensor's step count; b1 0.9, b2 0.999, eps 1e-8
 *         (PyTorch's defaults, which adam.cpp follows); untouched indices
 *         keep their m and v.
 *   sgd   lazy momentum: on a tensor's first step b = g where sent; later
 *         b = momentum b + g where sent (dampening 0); w -= lr b where sent.
 */
import type { OptimizerSpec } from './trainer.js';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;

export class SparseOptimizer {
  private readonly m: Float32Array | null;
  private readonly v: Float32Array | null;
  private readonly buffer: Float32Array | null;
  private steps = 0;

  constructor(private readonly spec: OptimizerSpec, private readonly momentum: number, elements: number) {
    this.m = spec.name === 'adam' ? new Float32Array(elements) : null;
    this.v = spec.name === 'adam' ? new Float32Array(elements) : null;
    this.buffer = spec.name === 'sgd' && momentum > 0 ? new Float32Array(elements) : null;
  }

  /** One step: `weights` updated in place where `sent`, with the mean gradient `mean`. */
  step(weights: Float32Array, mean: Float32Array, sent: Uint8Array): void {
    const t = ++this.steps;
    const lr = this.spec.learningRate;
    if (this.m) {
      const m = this.m, v = this.v!;
      const b1t = 1 - BETA1 ** t, b2t = 1 - BETA2 ** t;
      for (let i = 0; i < weights.length; i++) {
        if (!sent[i]) continue;
        const g = mean[i];
        const mt = BETA1 * m[i] + (1 - BETA1) * g;
        const vt = BETA2 * v[i] + (1 - BETA2) * g * g;
        weights[i] = weights[i] - (lr * (mt / b1t)) / (Math.sqrt(vt / b2t) + EPSILON);
        m[i] = mt;
        v[i] = vt;
      }
      return;
    }
    const b = this.buffer;
    for (let i = 0; i < weights.length; i++) {
      if (!sent[i]) continue;
      let d = mean[i];
      if (b) {
        b[i] = t === 1 ? d : this.momentum * b[i] + d;
        d = b[i];
      }
      weights[i] -= lr * d;
    }
  }
}
