/**
 * HiPS with MixedSync (GeoMX's dist_async; kvstore_dist_server.h
 * DataHandleAsyncDefault): synchronous within a data center, asynchronous
 * across; the global server applies each data center's sum on arrival and
 * answers that data center alone. DC-ASGD (MXNet optimizer.py
 * DCASGD.update) and Adam (Adam.update) at the global server, worked by hand.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { trainEach } from './training-runs.js';
import { runScenario } from '../../src/run/run.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { syntheticContribution } from '../../src/train/synthetic.js';
import { OptimizingServer } from '../../src/train/server-model.js';
import { ExchangeLayout } from '../../src/train/worker.js';
import type { ChunkPlan } from '../../src/sync/plan.js';
import { readCsv, useTempDir } from '../helpers.js';
import { folderPlots } from '../../src/report/plot-folder.js';

/** Two data centers, a computing 50 ms an iteration and b 210 ms, on a fast link; `nodes` may give them workers. */
const text = (hips: string, iterations: number, nodes = '[{ name: a, compute_ms: 50 }, { name: b, compute_ms: 210 }]') => [
  'name: mixed', 'seed: 2', `iterations: ${iterations}`, `nodes: ${nodes}`,
  'links:', '  - between: [a, b]', '    bandwidth: 1000', '    delay_ms: 1',
  'workload: { gradient_mb: 0.001, compute_ms: 50 }',
  `schedulers: [${hips}]`,
].join('\n');

describe('HiPS with MixedSync', () => {
  const tmp = useTempDir();

  it('applies each data center\'s update as it arrives: the fast one\'s four, then the slow one\'s first (4 versions stale), in that order', () => {
    const s = parseScenario(text('{ name: hips, sync: mixed }', 6), 'm.yaml');
    const run = simulate(s, s.schedulers[0], { values: true });
    // a (the global server's data center) ends an iteration every 50 ms, b every ~214 ms (its compute, then the round trip to a)
    const order = run.updates.map((u) => `${u.dataCenter}${u.iteration}`);
    expect(order).toEqual(['a0', 'a1', 'a2', 'a3', 'b0', 'a4', 'a5', 'b1', 'b2', 'b3', 'b4', 'b5']);
    expect(run.updates.map((u) => u.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // staleness: updates applied since the data center last pulled. b0 saw none of a0..a3; a4 missed b0; b1 missed a4 and a5
    expect(run.updates.map((u) => u.staleness)).toEqual([0, 0, 0, 0, 4, 1, 0, 2, 0, 0, 0, 0]);
    // no common iteration: a finishes its six before b finishes its second
    const ends = (w: string) => run.workerIterations.filter((r) => r.worker === w).map((r) => r.end);
    expect(ends('a').at(-1)).toBeLessThan(ends('b')[1]);
    expect(ends('a')[0]).toBeCloseTo(0.05, 9);
    // each pull gets the model as it is then: b's first pull holds a0..a3 and b0 (worker a is 0, b is 1)
    const c = (w: number, i: number) => syntheticContribution(w, i, 0);
    const sum = (...parts: Float32Array[]) => Float32Array.from(parts[0], (_, k) => parts.reduce((t, p) => t + p[k], 0));
    expect(run.workers.get('b')!.finals.get(0)).toEqual({ iteration: 5, values: sum(...[0, 1, 2, 3, 4, 5].flatMap((i) => [c(0, i), c(1, i)])) });
    expect(run.workers.get('a')!.finals.get(0)).toEqual({ iteration: 5, values: sum(c(0, 0), c(0, 1), c(0, 2), c(0, 3), c(1, 0), c(0, 4), c(0, 5)) });
  });

  it('with several workers per data center: they sum first (synchronous inside), move FSA\'s bytes, and hold the same model', () => {
    const nodes = '[{ name: a, workers: 2, compute_ms: 50 }, { name: b, workers: 2, compute_ms: [200, 210] }]';
    const s = parseScenario(text('{ name: hips, sync: mixed }', 5, nodes), 'm.yaml');
    s.workload.arrays = [{ name: 'small', elements: 1000 }, { name: 'big', elements: 2_000_000 }];
    s.workload.totalBytes = 4 * 2_001_000;
    const run = simulate(s, s.schedulers[0], { values: true });
    // one update per data center, iteration and key (one global server holds each key whole: two chunks)
    expect(new Set(run.updates.map((u) => u.chunk)).size).toBe(2);
    for (const dc of ['a', 'b']) expect(run.updates.filter((u) => u.dataCenter === dc).map((u) => u.iteration)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    // within a data center both workers end each iteration together, with the same values
    for (const dc of ['a', 'b']) {
      const [w0, w1] = [`${dc}.w0`, `${dc}.w1`].map((w) => run.workerIterations.filter((r) => r.worker === w));
      w0.forEach((r, i) => expect(r.end).toBe(w1[i].end));
      for (const id of [0, 1]) expect(run.workers.get(`${dc}.w0`)!.finals.get(id)).toEqual(run.workers.get(`${dc}.w1`)!.finals.get(id));
    }
    // bytes: FSA's per data center iteration (LAN: 2 workers' pushes, acks and pulls; WAN: b's sum, ack and pull)
    const fsa = simulate(s, { ...s.schedulers[0], sync: 'fsa' } as typeof s.schedulers[0]);
    const total = (r: typeof run) => r.iterations.reduce((t, i) => t + i.bytes, 0);
    expect(total(run)).toBe(total(fsa));
  });

  it('DC-ASGD on three elements: step = -lr (g + lambda g^2 (w - w_prev)), w_prev from the previous update whoever sent it', () => {
    const layout = new ExchangeLayout([{ name: 'w', elements: 3 }], 3);
    const chunk: ChunkPlan = { id: 0, array: 0, offset: 0, elements: 3, bytes: 12, tree: 0 };
    const server = new OptimizingServer(layout, Float32Array.of(1, 2, 3), { optimizer: { name: 'sgd', learningRate: 0.1 }, dcasgdLambda: 0.04 });
    // first update (w = w_prev): a plain step; a data center of two workers sends its sum, the step takes the mean
    server.apply(chunk, Float32Array.of(1, -2, 4), 2);
    expect(Array.from(server.value(chunk)!)).toEqual(Array.from(Float32Array.of(0.95, 2.1, 2.8)));
    // second (another data center, one worker): g = (1, 1, -1), w - w_prev = (-0.05, 0.1, -0.2)
    server.apply(chunk, Float32Array.of(1, 1, -1), 1);
    const expected = [0.95 - 0.1 * (1 + 0.04 * (0.95 - 1)), 2.1 - 0.1 * (1 + 0.04 * (2.1 - 2)), 2.8 - 0.1 * (-1 + 0.04 * (2.8 - 3))];
    expect(expected.map((v) => Number(v.toFixed(4)))).toEqual([0.8502, 1.9996, 2.9008]);
    Array.from(server.value(chunk)!).forEach((v, k) => expect(v).toBeCloseTo(expected[k], 6));
  });

  it('Adam at the global server as MXNet\'s: the first step is lr sign(g), with its own count per key part', () => {
    const layout = new ExchangeLayout([{ name: 'w', elements: 2 }, { name: 'v', elements: 1 }], 3);
    const parts: ChunkPlan[] = [{ id: 0, array: 0, offset: 0, elements: 2, bytes: 8, tree: 0 }, { id: 1, array: 1, offset: 0, elements: 1, bytes: 4, tree: 0 }];
    const server = new OptimizingServer(layout, Float32Array.of(1, 1, 1), { optimizer: { name: 'adam', learningRate: 0.01 }, dcasgdLambda: null });
    server.apply(parts[0], Float32Array.of(3, -0.5), 1);
    Array.from(server.value(parts[0])!).forEach((v, k) => expect(v).toBeCloseTo([0.99, 1.01][k], 6));
    server.apply(parts[0], Float32Array.of(3, -0.5), 1);
    // t = 2 on this part, the same gradient: again lr sign(g)
    Array.from(server.value(parts[0])!).forEach((v, k) => expect(v).toBeCloseTo([0.98, 1.02][k], 6));
    server.apply(parts[1], Float32Array.of(-2), 1);
    expect(server.value(parts[1])![0]).toBeCloseTo(1.01, 6); // t = 1 on the other part
  });

  it('writes updates.csv (every update with its staleness) and worker_iterations.csv; its bound is each iteration\'s compute', async () => {
    const s = parseScenario(text('{ name: hips, sync: mixed }', 6), join(tmp.path, 'm.yaml'));
    const out = await runScenario(s, { mode: 'sim', out: join(tmp.path, 'r') });
    const updates = readCsv(join(out.dir, 'updates.csv'));
    expect(updates.map((u) => `${u.data_center}${u.iteration}:${u.staleness}`)).toEqual(['a0:0', 'a1:0', 'a2:0', 'a3:0', 'b0:4', 'a4:1', 'a5:0', 'b1:2', 'b2:0', 'b3:0', 'b4:0', 'b5:0']);
    expect(Object.keys(updates[0])).toEqual(['scenario', 'mode', 'profile', 'seed', 'scheduler', 'server', 'chunk', 'array', 'data_center', 'iteration', 'version', 'staleness', 'at_s']);
    const workers = readCsv(join(out.dir, 'worker_iterations.csv'));
    expect(workers).toHaveLength(12);
    expect(workers.filter((w) => w.worker === 'b').map((w) => w.data_center)).toEqual(new Array(6).fill('b'));
    for (const row of readCsv(join(out.dir, 'iterations.csv'))) expect(Number(row.bound_s)).toBeLessThanOrEqual(Number(row.iteration_s) + 1e-9);
    // geobed plot: the share of updates at each staleness (9 of 12 fresh; a4 1 behind, b1 2, b0 4)
    const staleness = folderPlots(out.dir).find((p) => p.name === 'staleness')!;
    expect(staleness.rows).toEqual([{ scheduler: 'hips', staleness: 0, share: 9 / 12 }, { scheduler: 'hips', staleness: 1, share: 1 / 12 }, { scheduler: 'hips', staleness: 2, share: 1 / 12 }, { scheduler: 'hips', staleness: 4, share: 1 / 12 }]);
  });

  it('real training: each data center\'s workers agree after every iteration, the global server steps (Adam, DC-ASGD), and it learns', async () => {
    const text = [
      'name: mixed-train', 'seed: 3', 'iterations: 12', 'nodes: [a, { name: b, compute_ms: 30 }]', 'node_defaults: { workers: 2 }',
      'links:', '  - between: [a, b]', '    bandwidth: 50',
      'workload: { train: { model: mlp, dataset: { synthetic: { samples: 2000 } }, eval_every: 4 }, compute_ms: 10 }',
      'schedulers: [{ name: hips, label: mixed, sync: mixed }, { name: hips, label: dcasgd, sync: mixed, dcasgd: {} }]',
    ].join('\n');
    const s = parseScenario(text, 'mixed.yaml');
    const { runs: [mixed, dcasgd], reported, data } = await trainEach(s);
    // every worker reports every iteration; a's two agree with each other, b's two with each other, a and b differ
    const adam = reported.filter((r) => r.run === 0);
    expect(adam).toHaveLength(4 * 12);
    const at = (worker: number, iteration: number) => adam.find((r) => r.worker === worker && r.iteration === iteration)!.checksum;
    for (let i = 0; i < 12; i++) expect([at(0, i) === at(1, i), at(2, i) === at(3, i)]).toEqual([true, true]);
    expect(at(0, 11)).not.toBe(at(2, 11));
    // a (10 ms) runs ahead of b (30 ms): more of a's updates, and stale ones from b
    expect(mixed.updates.filter((u) => u.dataCenter === 'b' && u.staleness > 0).length).toBeGreaterThan(0);
    // the optimizers differ, and both learn
    const last = (run: typeof mixed) => run.training!.snapshots.at(-1)!.weights;
    expect(Array.from(last(mixed).subarray(0, 50))).not.toEqual(Array.from(last(dcasgd).subarray(0, 50)));
    const evaluator = data.makeTrainer(null, 'eval');
    try {
      evaluator.setWeights(last(mixed));
      expect(evaluator.evaluate(data.test).accuracy).toBeGreaterThan(0.5);
    } finally {
      evaluator.dispose();
    }
  });

  it('refuses DC-ASGD without mixed, hfa periods with it, and sync on a scheduler that has no such option', () => {
    const refusal = (scheduler: string) => {
      try {
        parseScenario(text(scheduler, 4), 'm.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal('{ name: hips, dcasgd: {} }')).toContain('schedulers[0].dcasgd: DC-ASGD is the global server\'s optimizer under sync: mixed (this scheduler has sync: fsa)');
    expect(refusal('{ name: hips, sync: hfa, dcasgd: { lambda: 0.1 } }')).toContain('(this scheduler has sync: hfa)');
    expect(refusal('{ name: hips, sync: mixed, hfa: { k1: 2 } }')).toContain('schedulers[0].hfa: hfa\'s periods are for sync: hfa (this scheduler has sync: mixed)');
    expect(refusal('{ name: hips, sync: mixed, dcasgd: { lambda: -1 } }')).toMatch(/schedulers\[0\]\.dcasgd\.lambda: .*at least 0/);
    expect(refusal('{ name: star, sync: mixed }')).toContain('schedulers[0]: unknown field "sync" ("sync" is an option of hips only)');
    expect(refusal('{ name: hips, sync: async }')).toMatch(/schedulers\[0\]\.sync: expected one of "fsa", "mixed", "hfa"/);
  });
});
