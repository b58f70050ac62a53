/**
 * Real training in emulated mode (root; CI runs as root): one worker
 * process per data center trains in its namespace, gradients cross the
 * shaped WAN as real bytes, every worker ends every step with the same
 * weights, and nine CNN workers fit in memory.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/run.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readCsv, useTempDir } from '../helpers.js';
import { cleanUpAfterEach, isRoot } from './emu-helpers.js';

cleanUpAfterEach(async () => undefined);

const NINE_DC = join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc-small.yaml');

describe.skipIf(!isRoot)('real training, emulated (root)', () => {
  const dir = useTempDir();

  it('four MLP workers train across the emulated WAN with identical weights, and learn', async () => {
    const text = readFileSync(join(PACKAGE_ROOT, 'scenarios', 'train-mnist.yaml'), 'utf8').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`);
    const scenario = parseScenario(text, join(dir.path, 'train.yaml'), { iterations: 15, schedulers: ['star', 'netstorm'] });
    const out = await runScenario(scenario, { mode: 'emu', out: join(dir.path, 'mlp') });
    for (const run of out.runs) {
      expect(run.iterations).toHaveLength(15);
      const rows = run.training!.accuracy;
      expect(rows.map((r) => r.steps)).toEqual([0, 5, 10, 15]);
      expect(rows[3].testAccuracy).toBeGreaterThan(0.8);
      // real bytes crossed the WAN: each iteration moved at least the gradient to and from the other workers
      expect(run.iterations[0].bytes).toBeGreaterThanOrEqual(2 * 3 * 203530 * 4);
    }
    // the same math on both schedulers (up to the order fp32 sums were added in)
    out.runs[1].training!.accuracy.forEach((r, i) => expect(r.testLoss).toBeCloseTo(out.runs[0].training!.accuracy[i].testLoss, 3));
    const manifest = JSON.parse(readFileSync(join(out.dir, 'manifest.json'), 'utf8'));
    expect(manifest.training.compute_source).toMatch(/^real: each worker process trains in its namespace/);
    for (const rss of Object.values(manifest.training.worker_rss_mb.star) as number[]) expect(rss).toBeGreaterThan(50);
  }, 240_000);

  it('eight MLP workers, two per data center, train with HiPS (FSA, HFA\'s local steps and averaging, MixedSync\'s global optimizer) across the LANs and the WAN, and learn', async () => {
    const text = readFileSync(join(PACKAGE_ROOT, 'scenarios', 'train-mnist.yaml'), 'utf8').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`)
      .replace(/schedulers:\n(  - .*\n)+/, 'schedulers: [hips, { name: hips, label: hips-hfa, sync: hfa, hfa: { k1: 2, k2: 2 } }, { name: hips, label: hips-mixed, sync: mixed }]\n');
    const scenario = parseScenario(text, join(dir.path, 'train.yaml'), { iterations: 16, set: ['node_defaults.workers=2'] });
    expect(scenario.workers).toHaveLength(8);
    // (a run fails if the workers' weights differ where they must agree: FSA after every step, HFA after every round
    // across data centers, MixedSync within each data center after every step; emulate checks each of them against
    // every worker's checksum)
    const out = await runScenario(scenario, { mode: 'emu', out: join(dir.path, 'hips') });
    const model = 203530 * 4;
    const [fsa, hfa, mixed] = out.runs;
    for (const run of out.runs) expect(run.iterations).toHaveLength(16);
    for (const run of [fsa, hfa]) expect(run.training!.accuracy.at(-1)!.testAccuracy).toBeGreaterThan(0.8);
    // MixedSync: the global server applied every data center's every update (in whatever order they came), and the model it served learns
    expect(mixed.training!.accuracy.at(-1)!.testAccuracy).toBeGreaterThan(0.6);
    const updates = readCsv(join(out.dir, 'updates.csv')).filter((u) => u.scheduler === 'hips-mixed');
    const keys = new Set(updates.map((u) => u.chunk)).size;
    expect(keys).toBe(4); // the MLP's four arrays, each whole at the one global server
    for (const dc of ['fra', 'lon', 'par', 'mad']) expect(updates.filter((u) => u.data_center === dc)).toHaveLength(16 * keys);
    expect(new Set(updates.map((u) => u.version)).size).toBe(4 * 16); // every chunk went through 64 versions
    // FSA: each worker's gradient to its local server and the parameters back on the LAN, each local server's sum on the WAN, every iteration
    for (const r of fsa.iterations) expect([r.lanBytes! >= 2 * 8 * model, r.wanBytes! >= 2 * 3 * model]).toEqual([true, true]);
    // HFA (k1 = 2, k2 = 2): nothing on odd steps... every 2nd iteration within data centers, every 4th across
    hfa.iterations.forEach((r, i) => {
      const round = (i + 1) % 2 !== 0 ? 'none' : ((i + 1) / 2) % 2 !== 0 ? 'lan' : 'wan';
      expect([i, r.lanBytes! > 0, r.wanBytes! > 0]).toEqual([i, round !== 'none', round === 'wan']);
    });
  }, 240_000);

  it('nine CNN workers (the NetStorm 9-DC WAN) fit comfortably in memory', async () => {
    const text = readFileSync(NINE_DC, 'utf8').replace(/workload:\n(  .*\n)+/, 'workload:\n  train: { model: cnn, preset: netstorm }\n');
    const scenario = parseScenario(text, join(dir.path, 'nine.yaml'), { iterations: 3, schedulers: ['netstorm'] });
    expect(scenario.workers).toHaveLength(9);
    expect(scenario.workload.training!.optimizer).toEqual({ name: 'adam', learningRate: 1e-4 });
    const out = await runScenario(scenario, { mode: 'emu', out: join(dir.path, 'cnn') });
    const rss = Object.values(out.runs[0].training!.workerRssMb);
    expect(rss).toHaveLength(9);
    for (const mb of rss) expect(mb).toBeLessThan(600);
    expect(rss.reduce((s, x) => s + x, 0)).toBeLessThan(6000); // this machine has 24 GiB
  }, 240_000);
});
