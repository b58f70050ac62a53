/**
 * The parameter arrays of the trainable models (what the network carries),
 * known without loading TensorFlow.js; a test checks them against the built
 * models. Names are tfjs's.
 */
import type { ModelArray } from './profiles.js';

export const MODEL_NAMES = ['mlp', 'cnn'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Input of every model: 28 x 28 grey images (MNIST-shaped), 10 classes. */
export const IMAGE_SIDE = 28;
export const CLASSES = 10;

const layer = (name: string, kernel: number, bias: number): ModelArray[] => [
  { name: `${name}/kernel`, elements: kernel },
  { name: `${name}/bias`, elements: bias },
];

export const MODEL_ARRAYS: Record<ModelName, ModelArray[]> = {
  mlp: [...layer('hidden', 784 * 256, 256), ...layer('logits', 256 * 10, 10)],
  cnn: [
    ...layer('conv1', 5 * 5 * 1 * 6, 6),
    ...layer('conv2', 5 * 5 * 6 * 16, 16),
    ...layer('fc1', 5 * 5 * 16 * 120, 120),
    ...layer('fc2', 120 * 84, 84),
    ...layer('logits', 84 * 10, 10),
  ],
};
