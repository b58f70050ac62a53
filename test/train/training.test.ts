/**
 * Real training through geobed's simulated mode: accuracy on real digits,
 * distributed training matching one worker with the same samples, weights
 * identical on every worker (and a divergence failing the run), and the
 * same seed giving byte-identical results.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/run.js';
import { simulate } from '../../src/run/simulate.js';
import { initBackend } from '../../src/train/backend.js';
import { prepareData, TrainingRecord } from '../../src/train/session.js';
import { Trainer, trainerFor } from '../../src/train/trainer.js';
import { buildModel, parameterArrays } from '../../src/train/models.js';
import { MODEL_ARRAYS } from '../../src/model/model-arrays.js';
import { PROFILES, totalElements } from '../../src/model/profiles.js';
import { readCsv, useTempDir } from '../helpers.js';

function trainingScenario(o: { nodes?: string; train?: string; iterations?: number; schedulers?: string } = {}): string {
  return [
    'name: t',
    'seed: 4',
    `iterations: ${o.iterations ?? 40}`,
    `nodes: ${o.nodes ?? '[a, b, c, d]'}`,
    'mesh: { bandwidth: 100, delay_ms: 5 }',
    'workload:',
    '  compute_ms: 20',
    `  train: { model: mlp, optimizer: adam, learning_rate: 0.002, eval_every: 10, ${o.train ?? 'batch: 32'} }`,
    `schedulers: ${o.schedulers ?? '[star]'}`,
    '',
  ].join('\n');
}

const accuracyRows = (dir: string) => readCsv(join(dir, 'accuracy.csv'));

describe('real training (simulated mode)', () => {
  const dir = useTempDir();

  it('the models\' parameter arrays are the ones the scenario loader announces', async () => {
    await initBackend();
    for (const name of ['mlp', 'cnn'] as const) {
      const model = buildModel(name);
      // (tfjs makes names unique per process: a second model's are hidden/kernel_1, ...)
      expect(parameterArrays(model).map(({ name: n, elements }) => ({ name: n.replace(/_\d+$/, ''), elements }))).toEqual(MODEL_ARRAYS[name]);
      model.dispose();
    }
  });

  it('the MLP reaches at least 85% test accuracy on the mnist digits in a short run, and records it', async () => {
    const scenario = parseScenario(trainingScenario(), join(dir.path, 's.yaml'));
    const out = await runScenario(scenario, { mode: 'sim', out: join(dir.path, 'mlp') });
    const rows = accuracyRows(out.dir);
    expect(rows.map((r) => Number(r.iteration))).toEqual([0, 10, 20, 30, 40]);
    expect(Number(rows[0].test_accuracy)).toBeLessThan(0.3); // untrained
    const final = Number(rows[rows.length - 1].test_accuracy);
    expect(final).toBeGreaterThanOrEqual(0.85);
    expect(Number(rows[rows.length - 1].samples)).toBe(40 * 4 * 32);
    // the time is when worker a held the weights: within the iteration that made them
    const at = Number(rows[4].time_s);
    expect(at).toBeGreaterThan(out.runs[0].iterations[38].end);
    expect(at).toBeLessThanOrEqual(out.runs[0].iterations[39].end + 1e-6);
    expect(out.summary[0].final_test_accuracy).toBeCloseTo(final, 5);
    const manifest = JSON.parse(readFileSync(join(out.dir, 'manifest.json'), 'utf8'));
    expect(manifest.backends.compute).toMatch(/TensorFlow\.js, (wasm|tfjs-node).*mlp \(203530 parameters\)/);
    expect(manifest.training).toMatchObject({ dataset: expect.stringMatching(/mnist/), train_samples: 8000, test_samples: 2000, batch_per_worker: 32 });
  }, 120_000);

  it('four workers over a scheduler match one worker with four times the batch, within 1 point, for the same samples', async () => {
    const distributed = parseScenario(trainingScenario({ iterations: 60, schedulers: '[netstorm]' }), join(dir.path, 'd.yaml'));
    const single = parseScenario(trainingScenario({
      iterations: 60, nodes: '[a, { name: b, worker: false }, { name: c, worker: false }, { name: d, worker: false }]', train: 'batch: 128',
    }), join(dir.path, 'one.yaml'));
    const a = await runScenario(distributed, { mode: 'sim', out: join(dir.path, 'four') });
    const b = await runScenario(single, { mode: 'sim', out: join(dir.path, 'one') });
    const last = (d: string) => accuracyRows(d).at(-1)!;
    expect([last(a.dir).samples, last(b.dir).samples]).toEqual(['7680', '7680']); // the same samples each
    const [accA, accB] = [Number(last(a.dir).test_accuracy), Number(last(b.dir).test_accuracy)];
    expect(accA).toBeGreaterThan(0.85);
    expect(Math.abs(accA - accB)).toBeLessThanOrEqual(0.01);
  }, 180_000);

  it('every worker holds the same weights after every step; a worker that diverges fails the run', async () => {
    await initBackend();
    const scenario = parseScenario(trainingScenario({ iterations: 3, schedulers: '[ring]' }), join(dir.path, 'r.yaml'));
    const training = scenario.workload.training!;
    const data = prepareData(training, scenario.seed, 4, (shard, label) => trainerFor(training, scenario.seed, shard, label));
    const steps: string[][] = [[], [], []];
    const spy = TrainingRecord.prototype.stepped;
    TrainingRecord.prototype.stepped = function (worker, iteration, checksum) {
      steps[iteration].push(checksum);
      return spy.call(this, worker, iteration, checksum);
    };
    try {
      simulate(scenario, scenario.schedulers[0], { trainingData: data });
    } finally {
      TrainingRecord.prototype.stepped = spy;
    }
    for (const checksums of steps) {
      expect(checksums).toHaveLength(4);
      expect(new Set(checksums).size).toBe(1);
    }
    expect(new Set(steps.map((c) => c[0])).size).toBe(3); // and the weights did change every step
    // worker c trains with another learning rate: its weights differ after the first step
    const broken = {
      ...data,
      makeTrainer: (index: number | null, label: string) => index === 2
        ? new Trainer({ model: 'mlp', optimizer: { name: 'adam', learningRate: 0.01 }, batch: 32, seed: scenario.seed }, data.shards[2], label)
        : data.makeTrainer(index, label),
    };
    expect(() => simulate(scenario, scenario.schedulers[0], { trainingData: broken }))
      .toThrow(/training failed: the workers' weights diverged after iteration 0 \(weight checksums: a \w+, b \w+, c \w+, d \w+\)/);
  }, 60_000);

  it('padded to a paper profile, the network carries the profile\'s bytes and the math is the same', async () => {
    const plain = parseScenario(trainingScenario({ iterations: 5 }), join(dir.path, 'p.yaml'));
    const padded = parseScenario(trainingScenario({ iterations: 5, train: 'batch: 32, pad_to_profile: resnet50' }), join(dir.path, 'pad.yaml'));
    expect(plain.workload.totalBytes).toBe(203530 * 4);
    expect(padded.workload.totalBytes).toBe(totalElements(PROFILES.resnet50().arrays) * 4);
    const a = await runScenario(plain, { mode: 'sim', out: join(dir.path, 'plain') });
    const b = await runScenario(padded, { mode: 'sim', out: join(dir.path, 'padded') });
    // the same learning, step by step (the runs differ in their times and, by design, in their profile column)
    const metrics = (d: string) => accuracyRows(d).map((r) => [r.iteration, r.samples, r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy]);
    expect(metrics(b.dir)).toEqual(metrics(a.dir));
    expect(b.runs[0].iterations[0].bytes).toBeGreaterThan(90 * a.runs[0].iterations[0].bytes);
    expect(b.runs[0].endTime).toBeGreaterThan(10 * a.runs[0].endTime); // 94 MB per worker take time
    expect(JSON.parse(readFileSync(join(b.dir, 'manifest.json'), 'utf8')).backends.compute).toMatch(/exchanged as the resnet50 profile's arrays \(94\.1 MB; the model's real gradient fills the first 203530 elements, the rest is padding\)/);
  }, 120_000);

  it('the same seed writes byte-identical accuracy and iteration CSVs', async () => {
    const text = trainingScenario({ iterations: 10, schedulers: '[star, ring]' });
    const runs = [];
    for (const k of [1, 2]) runs.push(await runScenario(parseScenario(text, join(dir.path, 'same.yaml')), { mode: 'sim', out: join(dir.path, `same${k}`) }));
    for (const file of ['accuracy.csv', 'iterations.csv', 'summary.csv']) {
      expect(readFileSync(join(runs[1].dir, file), 'utf8')).toBe(readFileSync(join(runs[0].dir, file), 'utf8'));
    }
  }, 60_000);
});
