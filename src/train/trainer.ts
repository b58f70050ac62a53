/**
 * One worker's training state: its model, its optimizer, its batches. The
 * exchange is a flat fp32 vector: `gradient()` computes this worker's mean
 * gradient on its next batch (nothing applied yet); `apply()` takes the
 * gradient averaged over every worker and makes the optimizer step. Every
 * worker applies the same averaged gradient to the same weights with the
 * same code, so all of them hold the same bits after every step (checked
 * with `checksum()`).
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { buildModel, CLASSES, flatWeights, initialiseWeights, parameterArrays, setFlatWeights, IMAGE_SIDE, type ModelName } from './models.js';
import { BatchStream, PIXELS, type Dataset } from './data.js';
import type { Training } from '../scenario/types.js';

export interface OptimizerSpec {
  name: 'adam' | 'sgd';
  learningRate: number;
}

export interface TrainerOptions {
  model: ModelName;
  optimizer: OptimizerSpec;
  batch: number;
  seed: number;
}

function makeOptimizer(spec: OptimizerSpec): tf.Optimizer {
  return spec.name === 'adam' ? tf.train.adam(spec.learningRate) : tf.train.sgd(spec.learningRate);
}

/** Images as the model's input tensor. */
function inputTensor(model: ModelName, images: Float32Array, n: number): tf.Tensor {
  return model === 'cnn' ? tf.tensor4d(images, [n, IMAGE_SIDE, IMAGE_SIDE, 1]) : tf.tensor2d(images, [n, PIXELS]);
}

export class Trainer {
  readonly model: tf.Sequential;
  readonly elements: number;
  private readonly optimizer: tf.Optimizer;
  private readonly variables: tf.Variable[];
  private readonly batches: BatchStream | null;

  /** `shard` is null for a trainer that only evaluates. */
  constructor(readonly options: TrainerOptions, shard: Dataset | null, label = 'worker') {
    this.model = buildModel(options.model);
    initialiseWeights(this.model, options.seed);
    this.variables = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.elements = parameterArrays(this.model).reduce((s, a) => s + a.elements, 0);
    this.optimizer = makeOptimizer(options.optimizer);
    this.batches = shard ? new BatchStream(shard, options.batch, options.seed, label) : null;
  }

  /** Mean loss and flat mean gradient over this worker's next batch. */
  gradient(): { loss: number; gradient: Float32Array } {
    const { images, labels } = this.batches!.next();
    const n = labels.length;
    const flat = new Float32Array(this.elements);
    let loss = 0;
    // (nothing returned from tidy: it would walk a returned Float32Array element by element, looking for tensors)
    tf.tidy(() => {
      const x = inputTensor(this.options.model, images, n);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, this.model.apply(x) as tf.Tensor) as tf.Scalar, this.variables);
      let at = 0;
      for (const v of this.variables) {
        const g = grads[v.name].dataSync() as Float32Array;
        flat.set(g, at);
        at += g.length;
      }
      loss = value.dataSync()[0];
    });
    return { loss, gradient: flat };
  }

  /** One optimizer step with this averaged gradient. */
  apply(gradient: Float32Array): void {
    tf.tidy(() => {
      const named: tf.NamedTensorMap = {};
      let at = 0;
      for (const v of this.variables) {
        named[v.name] = tf.tensor(gradient.subarray(at, at + v.size), v.shape);
        at += v.size;
      }
      this.optimizer.applyGradients(named);
    });
  }

  weights(): Float32Array {
    return flatWeights(this.model);
  }

  setWeights(flat: Float32Array): void {
    setFlatWeights(this.model, flat);
  }

  /** sha256 of the weights' bytes (flatWeights order), first 16 hex digits. */
  checksum(): string {
    const hash = createHash('sha256');
    for (const v of this.variables) {
      const data = v.dataSync() as Float32Array;
      hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    return hash.digest('hex').slice(0, 16);
  }

  /** Mean loss and accuracy of the current weights on a dataset. */
  evaluate(data: Dataset, batch = 500): { loss: number; accuracy: number } {
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < data.size; start += batch) {
      const n = Math.min(batch, data.size - start);
      const [l, c] = tf.tidy(() => {
        const x = inputTensor(this.options.model, data.images.subarray(start * PIXELS, (start + n) * PIXELS), n);
        const labels = tf.tensor1d(data.labels.subarray(start, start + n), 'int32');
        const logits = this.model.apply(x) as tf.Tensor;
        const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, CLASSES), logits, undefined, undefined, tf.Reduction.SUM);
        const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
        return [loss.dataSync()[0], hits.dataSync()[0]];
      });
      lossSum += l;
      correct += c;
    }
    return { loss: lossSum / data.size, accuracy: correct / data.size };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

export function trainerFor(training: Training, seed: number, data: Dataset | null, label: string): Trainer {
  return new Trainer({ model: training.model, optimizer: training.optimizer, batch: training.batch, seed }, data, label);
}

/**
 * The simulated compute time of one iteration on this machine: the median
 * of a few timed steps (gradient and optimizer step) after a warm-up.
 */
export function calibrateComputeS(training: Training, shard: Dataset, seed: number, steps = 10): number {
  const trainer = trainerFor(training, seed, shard, 'calibration');
  try {
    const times: number[] = [];
    for (let i = 0; i < steps + 3; i++) {
      const t0 = performance.now();
      trainer.apply(trainer.gradient().gradient);
      if (i >= 3) times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    trainer.dispose();
  }
}
