/**
 * Compression in emulated runs (root; CI runs as root): compressed messages
 * cross real TCP as their packed payloads (binary16 halves, sparse values
 * and indices), exactly as many bytes as the simulator counts, and real
 * training with them keeps every worker's weights identical and learns.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/load.js';
import { emulate } from '../../src/run/emulate.js';
import { simulate } from '../../src/run/simulate.js';
import { runScenario } from '../../src/run/run.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { useTempDir } from '../helpers.js';
import { expectPlainSums } from '../plain-sums.js';
import { cleanUpAfterEach, isRoot } from './emu-helpers.js';

cleanUpAfterEach(async () => undefined);

describe.skipIf(!isRoot)('compression, emulated (root)', () => {
  const dir = useTempDir();

  it('HiPS over LANs with fp16 and with top-k at ratio 1: packed payloads over real TCP, every worker the plain sum, every message the simulator\'s size', async () => {
    const scenario = parseScenario([
      'name: compression', 'seed: 2', 'iterations: 2', 'nodes: [a, b]',
      'node_defaults: { workers: 2, lan: { bandwidth: 1000, delay_ms: 0.05 } }',
      'links:', '  - between: [a, b]', '    bandwidth: 100', '    delay_ms: 5',
      'workload: { gradient_mb: 2, compute_ms: 10 }',
      'schedulers: [{ name: hips, compression: fp16 }, { name: hips, label: topk, compression: { topk: { ratio: 1 } } }, { name: hips, label: bsc, compression: bisparse }]',
    ].join('\n'), join(dir.path, 'c.yaml'));
    for (const config of scenario.schedulers) {
      const run = await emulate(scenario, config, { values: true, timeoutS: 60 });
      if (config.label !== 'bsc') expectPlainSums(scenario, run);
      const sizes = (transfers: Iterable<{ iteration: number; from: string; to: string; kind: string; chunk: number; bytes: number }>) =>
        [...transfers].filter((t) => t.iteration === 1).map((t) => `${t.from}>${t.to} ${t.kind} ${t.chunk} ${t.bytes}`).sort();
      expect(sizes(run.transfers), config.label).toEqual(sizes(simulate(scenario, config).transfers));
    }
  }, 240_000);

  it('real training with fp16, Bi-Sparse, top-k and StellaTrain: every worker the same weights every step, the bytes the simulator counts, and it learns', async () => {
    const text = readFileSync(join(PACKAGE_ROOT, 'scenarios', 'train-mnist.yaml'), 'utf8').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`)
      .replace(/schedulers:\n(  - .*\n)+/, [
        'schedulers:',
        '  - { name: hips, label: hips-fp16, compression: fp16 }',
        '  - { name: hips, label: hips-bsc, compression: { bisparse: { ratio: 0.01 } } }',
        '  - { name: star, label: star-topk, compression: { topk: { ratio: 0.01 } } }',
        '  - { name: stellatrain, label: st-0, compression: { thresholdv16: { cr: 0 } } }', '',
      ].join('\n'));
    const scenario = parseScenario(text, join(dir.path, 'train.yaml'), { iterations: 15 });
    // (a run fails if any worker's weights differ from the others' after a step: emulate checks every checksum)
    const out = await runScenario(scenario, { mode: 'emu', out: join(dir.path, 'emu') });
    // MLP 784-256-10: arrays of 200,704, 256, 2,560 and 10 elements; 4 data centers; the global server (HiPS) and the server (star) at fra
    const perIteration: Record<string, number> = {
      // every message at 2 bytes an element, both ways, for 3 data centers; 4 pull requests of 8 bytes each
      'hips-fp16': 3 * (2 * 2 * 203_530 + 32),
      // up: 8 floor(N rho) for the two arrays of 1,000 or more, fp32 for the others; down: 8 floor(N rho G), G = 4
      'hips-bsc': 3 * ((8 * 2007 + 4 * 256 + 8 * 25 + 4 * 10) + (8 * 8028 + 4 * 256 + 8 * 102 + 4 * 10) + 32),
      // up: k = max(1, floor(N 0.01)) values and uint32 indices; down: the sum's nonzeros, k per worker (4)
      'star-topk': 3 * ((8 * 2007 + 8 * 2 + 8 * 25 + 8 * 1) + 4 * (8 * 2007 + 8 * 2 + 8 * 25 + 8 * 1) + 32),
      // 4 chunks, each 3 hops round the ring; K = N / 4 per node (cr 0), uint32 indices above 65,536 elements, uint16 below
      'st-0': 4 * 3 * (50_176 * 8 + 64 * 6 + 640 * 6 + 2 * 6),
    };
    for (const run of out.runs) {
      expect(run.iterations).toHaveLength(15);
      for (const it of run.iterations) expect(it.bytes, run.label).toBe(perIteration[run.label]);
      expect(run.training!.accuracy.at(-1)!.testAccuracy, run.label).toBeGreaterThan(run.label === 'hips-fp16' ? 0.8 : 0.6);
      // StellaTrain: staleness 1, the next iteration's compute starts before this one's exchange ends
      if (run.label === 'st-0') for (let i = 1; i < 15; i++) expect(run.iterations[i].start).toBeLessThan(run.iterations[i - 1].end);
    }
  }, 300_000);
});
