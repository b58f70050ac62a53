/**
 * npm run bench:train — training speed on this host.
 *  1. Samples per second of each tfjs backend that loads here (wasm, cpu;
 *     tfjs-node where installed) and each model, batch 32, in a plain loop:
 *     tfjs's own optimizer.minimize per batch.
 *  2. The testbed's overhead: one worker training the MLP from scratch
 *     inside geobed (a simulated run: set-up, batches, the gradient read
 *     out into the exchange, the sync engine, the averaged gradient applied,
 *     a checksum of the weights every step) against the same model trained
 *     from scratch in that plain loop (set-up included), as a ratio of wall
 *     time.
 *  3. Compression's cost: the same run with the worker's messages to a
 *     server compressed (fp16, top-k 1%, and StellaTrain's thresholdv16 over
 *     its all-gather), wall time per step against the dense run, per model.
 * Goals: overhead under 1.1x for the MLP; fp16 and top-k within 1.2x of
 * dense on the CNN.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/train/backend.js';
import { buildModel, initialiseWeights, type ModelName } from '../src/train/models.js';
import { BatchStream, loadMnistPackage, splitDataset, PIXELS } from '../src/train/data.js';
import { CLASSES, IMAGE_SIDE } from '../src/model/model-arrays.js';
import { parseScenario } from '../src/scenario/load.js';
import { simulate } from '../src/run/simulate.js';
import { prepareData } from '../src/train/session.js';
import { trainerFor } from '../src/train/trainer.js';
import { formatTable } from '../src/cli/table.js';

const BATCH = 32;
const data = splitDataset(loadMnistPackage(), 0.2, 1).train;

/**
 * Seconds for `steps` plain training steps: after 3 warm-up steps, or
 * (`fromScratch`) including the model's set-up, as a geobed run includes it.
 */
function plainLoop(model: ModelName, steps: number, fromScratch = false): number {
  const start = performance.now();
  const net = buildModel(model);
  initialiseWeights(net, 1);
  const optimizer = tf.train.adam(1e-3);
  const batches = new BatchStream(data, BATCH, 1, 'bench');
  const step = () => {
    const { images, labels } = batches.next();
    tf.tidy(() => {
      const x = model === 'cnn' ? tf.tensor4d(images, [BATCH, IMAGE_SIDE, IMAGE_SIDE, 1]) : tf.tensor2d(images, [BATCH, PIXELS]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, net.apply(x) as tf.Tensor) as tf.Scalar);
    });
  };
  if (!fromScratch) for (let i = 0; i < 3; i++) step();
  const t0 = fromScratch ? start : performance.now();
  for (let i = 0; i < steps; i++) step();
  const seconds = (performance.now() - t0) / 1000;
  optimizer.dispose();
  net.dispose();
  return seconds;
}

/**
 * Seconds for `iterations` of one worker in a simulated geobed run (compute time 0: wall time is all real work),
 * its server on b (or, with two `workers`, a second worker there).
 */
function insideGeobed(iterations: number, model: ModelName = 'mlp', scheduler = 'star', workers = 1): number {
  const text = [
    'name: bench', 'seed: 1', `iterations: ${iterations}`, `nodes: [a, { name: b, worker: ${workers === 2} }]`,
    'links: [{ between: [a, b], bandwidth: 1000 }]',
    `workload: { compute_ms: 0, train: { model: ${model}, batch: 32, eval_every: 100000 } }`, `schedulers: [${scheduler}]`, '',
  ].join('\n');
  const scenario = parseScenario(text, 'bench.yaml');
  const training = scenario.workload.training!;
  const prepared = prepareData(training, 1, scenario.workers.length, (shard, label) => trainerFor(training, 1, shard, label));
  simulate({ ...scenario, iterations: 3 }, scenario.schedulers[0], { trainingData: prepared }); // warm-up
  const t0 = performance.now();
  simulate(scenario, scenario.schedulers[0], { trainingData: prepared });
  return (performance.now() - t0) / 1000;
}

const wasm = await initBackend('wasm');
const backends: { name: string; tf: string }[] = [{ name: wasm.description, tf: 'wasm' }, { name: 'cpu (plain JavaScript)', tf: 'cpu' }];
try {
  await import('@tensorflow/tfjs-node' as string);
  backends.unshift({ name: 'tfjs-node (libtensorflow)', tf: 'tensorflow' });
} catch {
  // not installed here (it downloads libtensorflow at install time)
}

const rows: string[][] = [];
for (const backend of backends) {
  await tf.setBackend(backend.tf);
  for (const model of ['mlp', 'cnn'] as const) {
    const steps = backend.tf === 'cpu' ? (model === 'cnn' ? 10 : 20) : 100;
    const s = plainLoop(model, steps);
    rows.push([backend.name, model, String(BATCH), (steps * BATCH / s).toFixed(0), ((s / steps) * 1000).toFixed(1)]);
  }
}
process.stdout.write(`Training speed, plain loop (optimizer.minimize), batch ${BATCH}, ${data.size} MNIST training digits:\n`);
process.stdout.write(`${formatTable(['backend', 'model', 'batch', 'samples/s', 'ms/step'], rows)}\n\n`);

await tf.setBackend('wasm');
// Alternate the two, five rounds each, and compare medians: one long run of either drifts with the JIT and the GC.
const iterations = 300;
const plainRuns: number[] = [];
const geobedRuns: number[] = [];
for (let round = 0; round < 5; round++) {
  plainRuns.push(plainLoop('mlp', iterations, true));
  geobedRuns.push(insideGeobed(iterations));
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const plain = median(plainRuns);
const geobed = median(geobedRuns);
process.stdout.write(`Overhead (wasm, MLP, ${iterations} steps of batch ${BATCH}, one worker; median of 5 alternating rounds):\n`);
process.stdout.write(`${formatTable(['', 'seconds', 'ms/step', 'rounds (s)'], [
  ['plain loop', plain.toFixed(2), ((plain / iterations) * 1000).toFixed(1), plainRuns.map((x) => x.toFixed(2)).join(' ')],
  ['inside geobed (simulated run)', geobed.toFixed(2), ((geobed / iterations) * 1000).toFixed(1), geobedRuns.map((x) => x.toFixed(2)).join(' ')],
])}\n`);
const ratio = geobed / plain;
process.stdout.write(`ratio ${ratio.toFixed(3)}x (goal: under 1.1x): ${ratio < 1.1 ? 'met' : 'NOT met'}\n`);

// Compression's cost per step, against the same run uncompressed (star's server on b); StellaTrain's two workers
// against two dense workers on a ring (its own exchange has no server).
const methods: [string, string, string][] = [
  ['fp16', '{ name: star, servers: [b], compression: fp16 }', '{ name: star, servers: [b] }'],
  ['top-k 1%', '{ name: star, servers: [b], compression: { topk: { ratio: 0.01 } } }', '{ name: star, servers: [b] }'],
  ['thresholdv16 (stellatrain, cr 0.99)', 'stellatrain', 'ring'],
];
const compressionRows: string[][] = [];
const verdicts: string[] = [];
for (const model of ['mlp', 'cnn'] as const) {
  const steps = model === 'cnn' ? 60 : 200;
  for (const [name, scheduler, dense] of methods) {
    const timed: number[] = [];
    const denseTimed: number[] = [];
    for (let round = 0; round < 3; round++) {
      const workers = scheduler === 'stellatrain' ? 2 : 1;
      denseTimed.push(insideGeobed(steps, model, dense, workers));
      timed.push(insideGeobed(steps, model, scheduler, workers));
    }
    const ratio = median(timed) / median(denseTimed);
    compressionRows.push([model, name, ((median(denseTimed) / steps) * 1000).toFixed(1), ((median(timed) / steps) * 1000).toFixed(1), `${ratio.toFixed(3)}x`]);
    if (model === 'cnn' && name !== 'thresholdv16 (stellatrain, cr 0.99)') verdicts.push(`${name} on the CNN: ${ratio.toFixed(3)}x (goal: within 1.2x): ${ratio <= 1.2 ? 'met' : 'NOT met'}`);
  }
}
process.stdout.write(`\nCompression's cost (wasm, batch ${BATCH}, a simulated run with compute 0; median of 3 alternating rounds):\n`);
process.stdout.write(`${formatTable(['model', 'method', 'dense ms/step', 'compressed ms/step', 'ratio'], compressionRows)}\n`);
for (const v of verdicts) process.stdout.write(`${v}\n`);
