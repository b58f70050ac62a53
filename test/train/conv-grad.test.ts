/**
 * The Conv2D gradient geobed registers (the wasm backend has no
 * Conv2DBackpropFilter kernel) against tfjs's reference kernel on the cpu
 * backend, and a CNN's whole gradient on wasm against the cpu backend's.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/train/backend.js';
import { conv2dFilterGradient } from '../../src/train/conv-grad.js';
import { Trainer } from '../../src/train/trainer.js';
import { syntheticDataset } from '../../src/train/data.js';

/** Run `f` on a backend and bring the result back as plain numbers. */
async function on<T>(backend: string, f: () => T): Promise<T> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return f();
  } finally {
    await tf.setBackend(before);
  }
}

const maxAbsDiff = (a: Float32Array | number[], b: Float32Array | number[]) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

describe('the Conv2D gradient', () => {
  it('starts on wasm', async () => {
    expect((await initBackend()).tfBackend).toMatch(/^(tensorflow|wasm)$/);
  });

  const cases: [number, number, 'valid' | 'same', number, number][] = [
    // kernel, stride, padding, input side, channels in
    [5, 1, 'valid', 28, 1], [5, 1, 'same', 14, 6], [3, 2, 'same', 12, 3], [3, 2, 'valid', 13, 4], [4, 3, 'same', 11, 2],
  ];
  for (const [k, s, pad, side, cin] of cases) {
    it(`filter gradient matches the reference within 1e-4 (${k}x${k}, stride ${s}, ${pad}, ${side}x${side}x${cin})`, async () => {
      await initBackend();
      const cout = 5;
      const xData = tf.randomUniform([3, side, side, cin], -1, 1, 'float32', 11).dataSync() as Float32Array;
      const info = tf.backend_util.computeConv2DInfo([3, side, side, cin], [k, k, cin, cout], [s, s], [1, 1], pad);
      const dyShape: [number, number, number, number] = [3, info.outHeight, info.outWidth, cout];
      const dyData = tf.randomUniform(dyShape, -1, 1, 'float32', 12).dataSync() as Float32Array;
      const mine = tf.tidy(() => conv2dFilterGradient(tf.tensor4d(xData, [3, side, side, cin]), tf.tensor4d(dyData, dyShape), [k, k, cin, cout], s, pad).dataSync() as Float32Array);
      const reference = await on('cpu', () => tf.tidy(() => (tf.engine().runKernel('Conv2DBackpropFilter',
        { x: tf.tensor4d(xData, [3, side, side, cin]), dy: tf.tensor4d(dyData, dyShape) },
        { strides: [s, s], pad, dataFormat: 'NHWC', filterShape: [k, k, cin, cout] },
      ) as tf.Tensor).dataSync() as Float32Array));
      expect(mine.length).toBe(k * k * cin * cout);
      expect(maxAbsDiff(mine, reference)).toBeLessThan(1e-4);
    });
  }

  it('a CNN\'s whole gradient on this backend matches the cpu backend\'s within 1e-4', async () => {
    const { tfBackend } = await initBackend();
    const data = syntheticDataset(200, 3);
    const options = { model: 'cnn' as const, optimizer: { name: 'sgd' as const, learningRate: 0.1 }, batch: 16, seed: 5 };
    const here = new Trainer(options, data).gradient().gradient;
    const cpu = await on('cpu', () => new Trainer(options, data).gradient().gradient);
    expect(tfBackend === 'cpu' || here.length === cpu.length).toBe(true);
    expect(maxAbsDiff(here, cpu)).toBeLessThan(1e-4);
    expect(Math.max(...Array.from(cpu, Math.abs))).toBeGreaterThan(1e-3); // a real gradient, not zeros
  });
});
