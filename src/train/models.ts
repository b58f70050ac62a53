/**
 * The models a worker trains: an MLP and a small LeNet-like CNN, built with
 * tfjs layers, initialised from the scenario seed (Glorot-uniform kernels,
 * zero biases) so that every worker starts from the same bits. A model's
 * parameters travel as one flat fp32 vector, in `trainableWeights` order.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';

import { CLASSES, IMAGE_SIDE, type ModelName } from '../model/model-arrays.js';

export { CLASSES, IMAGE_SIDE, type ModelName };

export function buildModel(name: ModelName): tf.Sequential {
  const model = tf.sequential();
  if (name === 'mlp') {
    model.add(tf.layers.dense({ inputShape: [IMAGE_SIDE * IMAGE_SIDE], units: 256, activation: 'relu', name: 'hidden' }));
    model.add(tf.layers.dense({ units: CLASSES, name: 'logits' }));
  } else {
    // LeNet-5's shape with ReLU and max pooling
    model.add(tf.layers.conv2d({ inputShape: [IMAGE_SIDE, IMAGE_SIDE, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu', name: 'conv1' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    model.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu', name: 'conv2' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 120, activation: 'relu', name: 'fc1' }));
    model.add(tf.layers.dense({ units: 84, activation: 'relu', name: 'fc2' }));
    model.add(tf.layers.dense({ units: CLASSES, name: 'logits' }));
  }
  return model;
}

/** The model's parameter arrays, in exchange order. */
export function parameterArrays(model: tf.LayersModel): { name: string; elements: number; shape: number[] }[] {
  return model.trainableWeights.map((w) => ({ name: w.name, elements: sizeOf(w.shape), shape: w.shape as number[] }));
}

/** Elements of a fully known shape. */
function sizeOf(shape: (number | null)[]): number {
  return shape.reduce<number>((a, b) => a * (b ?? 1), 1);
}

/** Set every parameter from the seed: kernels Glorot-uniform, biases 0. */
export function initialiseWeights(model: tf.LayersModel, seed: number): void {
  const rng = new Rng(seed, 'model-init');
  const values = model.trainableWeights.map((w) => {
    const shape = w.shape as number[];
    const n = sizeOf(shape);
    const data = new Float32Array(n);
    if (shape.length > 1) {
      // fan in and out as Keras counts them: receptive field x channels
      const receptive = sizeOf(shape.slice(0, -2));
      const fanIn = shape[shape.length - 2] * receptive;
      const fanOut = shape[shape.length - 1] * receptive;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let k = 0; k < n; k++) data[k] = rng.uniform(-limit, limit);
    }
    return tf.tensor(data, shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** All parameters as one flat vector. */
export function flatWeights(model: tf.LayersModel): Float32Array {
  const arrays = model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
  const out = new Float32Array(arrays.reduce((s, a) => s + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** Load parameters from a flat vector (as flatWeights wrote it). */
export function setFlatWeights(model: tf.LayersModel, flat: Float32Array): void {
  let at = 0;
  const values = model.trainableWeights.map((w) => {
    const n = sizeOf(w.shape);
    const t = tf.tensor(flat.subarray(at, at + n), w.shape as number[]);
    at += n;
    return t;
  });
  model.setWeights(values);
  tf.dispose(values);
}
