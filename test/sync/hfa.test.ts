/**
 * HiPS with HFA (GeoMX examples/cnn_hfa.py; kvstore_dist_server.h's K2
 * branch): local steps, parameters averaged within each data center every
 * k1 iterations and across data centers every k2-th time, worked by hand.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { trainEach } from './training-runs.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { hfaRound } from '../../src/sync/schedulers/hips.js';
import { syntheticContribution } from '../../src/train/synthetic.js';
import { runScenario } from '../../src/run/run.js';
import { join } from 'node:path';
import { readCsv, useTempDir } from '../helpers.js';

const text = (hips: string, iterations: number, extra: string[] = []) => [
  'name: hfa', 'seed: 2', `iterations: ${iterations}`,
  'nodes: [a, b, { name: c, workers: 1 }]', 'node_defaults: { workers: 2 }',
  'links:', '  - between: [a, b]', '    bandwidth: 20', '    delay_ms: 20', '  - between: [b, c]', '    bandwidth: 20',
  'workload: { gradient_mb: 2, compute_ms: 50 }',
  `schedulers: [${hips}]`, ...extra,
].join('\n');

describe('HiPS with HFA', () => {
  const tmp = useTempDir();
  it('k1 = 4, k2 = 3 over 40 iterations: 10 averagings within data centers, every third of them (3) across', () => {
    const rounds = Array.from({ length: 40 }, (_, i) => hfaRound(i, 4, 3));
    expect(rounds.filter((r) => r !== 'none').length).toBe(10);
    expect(rounds.map((r, i) => [r, i]).filter(([r]) => r === 'wan').map(([, i]) => i)).toEqual([11, 23, 35]);
    const s = parseScenario(text('{ name: hips, sync: hfa, hfa: { k1: 4, k2: 3 } }', 40), 'hfa.yaml');
    const run = simulate(s, s.schedulers[0]);
    expect(run.iterations).toHaveLength(40);
    const M = s.workload.totalBytes;
    run.iterations.forEach((r, i) => {
      const round = rounds[i];
      // within: each of a's and b's two workers pushes its parameters and pulls the average (8-byte pull requests); c's one worker has no one to average with
      const lan = round === 'none' ? 0 : 4 * (2 * M + 8);
      const wan = round === 'wan' ? 2 * (2 * M + 8) : 0; // b's and c's local servers to a's and back
      expect([i, r.lanBytes, r.wanBytes], `iteration ${i}`).toEqual([i, lan, wan]);
    });
    // between rounds an iteration is its compute alone (50 ms); a round across data centers waits for the WAN
    expect(run.iterations[1].end - run.iterations[0].end).toBeCloseTo(0.05, 9);
    expect(run.iterations[11].end - run.iterations[10].end).toBeGreaterThan((2 * 8 * M) / 20e6);
  });

  it('parameters, not gradients: within a data center every worker gets the mean of its data center\'s, across data centers the mean of every worker\'s', () => {
    const s = parseScenario(text('{ name: hips, sync: hfa, hfa: { k1: 1, k2: 2 } }', 3), 'hfa.yaml');
    s.workload.arrays = [{ name: 'w', elements: 1000 }];
    const run = simulate(s, s.schedulers[0], { values: true });
    const c = (w: number, iteration: number, chunk: number) => syntheticContribution(w, iteration, chunk);
    const mean = (ws: number[], iteration: number, chunk: number) => Array.from(c(0, 0, 0), (_, k) => ws.reduce((sum, w) => sum + c(w, iteration, chunk)[k], 0) / ws.length);
    // workers: a.w0 a.w1 b.w0 b.w1 c = 0..4; iteration 2 is a round within data centers (chunk t: data center t's), iteration 1 across (chunk 0)
    const finals = (node: string, chunk: number) => run.workers.get(node)!.finals.get(chunk)!;
    for (const node of ['a.w0', 'a.w1']) expect(finals(node, 0)).toEqual({ iteration: 2, values: Float32Array.from(mean([0, 1], 2, 0)) });
    for (const node of ['b.w0', 'b.w1']) {
      expect(finals(node, 1)).toEqual({ iteration: 2, values: Float32Array.from(mean([2, 3], 2, 1)) });
      // across: each worker's parameters / (n_w G), summed: the mean of the three data centers' means
      const across = Array.from(c(0, 0, 0), (_, k) => ((c(0, 1, 0)[k] + c(1, 1, 0)[k]) / 2 + (c(2, 1, 0)[k] + c(3, 1, 0)[k]) / 2 + c(4, 1, 0)[k]) / 3);
      const got = Array.from(finals(node, 0).values!);
      expect(finals(node, 0).iteration).toBe(1);
      got.forEach((v, k) => expect(v).toBeCloseTo(across[k], 5));
    }
    expect(finals('c', 2)).toEqual({ iteration: 2, values: Float32Array.from(mean([4], 2, 2)) });
  });

  it('real training: local steps between rounds (the workers\' weights part), the same weights after every round across data centers, and it learns', async () => {
    const text = [
      'name: hfa-train', 'seed: 3', 'iterations: 12', 'nodes: [a, b]', 'node_defaults: { workers: 2 }',
      'links:', '  - between: [a, b]', '    bandwidth: 50',
      'workload: { train: { model: mlp, dataset: { synthetic: { samples: 2000 } }, eval_every: 4 }, compute_ms: 10 }',
      'schedulers: [{ name: hips, label: hips-hfa, sync: hfa, hfa: { k1: 2, k2: 2 } }, hips]',
    ].join('\n');
    const s = parseScenario(text, 'hfa.yaml');
    // every worker's weights as it reports them (simulate throws if they differ where they must agree)
    const { runs: [hfa, fsa], reported: steps, data } = await trainEach(s);
    const reported = new Map<number, string[]>();
    for (const r of steps) reported.set(r.iteration, [...(reported.get(r.iteration) ?? []), r.checksum]);
    // HFA reports (and the four workers agree) after the rounds across data centers only, iterations 3, 7 and 11; FSA after every one
    const hfaReports = [...reported].filter(([i]) => i === 3 || i === 7 || i === 11);
    for (const [, sums] of hfaReports) expect(sums.slice(0, 4).every((c) => c === sums[0])).toBe(true);
    expect([...reported.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect([0, 1, 2, 4, 5, 6, 8, 9, 10].every((i) => reported.get(i)!.length === 4)).toBe(true); // FSA's alone
    expect([3, 7, 11].every((i) => reported.get(i)!.length === 8)).toBe(true); // HFA's and FSA's
    expect(hfa.iterations).toHaveLength(12);
    // the models differ: HFA's workers step on their own gradients and average parameters
    const last = (run: typeof hfa) => run.training!.snapshots.at(-1)!.weights;
    expect(Array.from(last(hfa).subarray(0, 50))).not.toEqual(Array.from(last(fsa).subarray(0, 50)));
    const evaluator = data.makeTrainer(null, 'eval');
    try {
      evaluator.setWeights(last(hfa));
      expect(evaluator.evaluate(data.test).accuracy).toBeGreaterThan(0.5);
    } finally {
      evaluator.dispose();
    }
  });

  it('its lower bound holds: between rounds an iteration is bounded by its compute, a round across data centers by the cuts', async () => {
    const s = parseScenario(text('{ name: hips, sync: hfa, hfa: { k1: 2, k2: 2 } }', 8), join(tmp.path, 'hfa.yaml'));
    const out = await runScenario(s, { mode: 'sim', out: join(tmp.path, 'r') });
    const rows = readCsv(join(out.dir, 'iterations.csv'));
    for (const row of rows) expect(Number(row.bound_s), `iteration ${row.iteration}`).toBeLessThanOrEqual(Number(row.iteration_s) + 1e-9);
    // a round across data centers (iterations 3 and 7) moves a model over the 20 Mbit/s WAN: its bound is well above the compute
    for (const row of rows.filter((r) => r.iteration === '3' || r.iteration === '7')) expect(Number(row.bound_s)).toBeGreaterThan(0.5);
    expect(Number(rows[0].bound_s)).toBeCloseTo(0.05, 9);
  });

  it('refuses bad periods, and periods without hfa', () => {
    const refusal = (hips: string, extra: string[] = []) => {
      try {
        parseScenario(text(hips, 4, extra), 'hfa.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal('{ name: hips, sync: hfa, hfa: { k1: 0 } }')).toMatch(/schedulers\[0\]\.hfa\.k1: .*at least 1/);
    expect(refusal('{ name: hips, sync: hfa, hfa: { k2: 0 } }')).toMatch(/schedulers\[0\]\.hfa\.k2: .*at least 1/);
    expect(refusal('{ name: hips, hfa: { k1: 2 } }')).toContain('schedulers[0].hfa: hfa\'s periods are for sync: hfa (this scheduler has sync: fsa)');
  });
});
