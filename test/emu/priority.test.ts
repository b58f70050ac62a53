/**
 * P3 and DGT in emulated runs (root; CI runs as root): the agents' send
 * queues order real TCP connections as the simulator's do (P3's slices by
 * layer, DGT's important blocks first), every message the simulator's size,
 * and the values arrive whole.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/load.js';
import { emulate } from '../../src/run/emulate.js';
import { simulate } from '../../src/run/simulate.js';
import { useTempDir } from '../helpers.js';
import { expectPlainSums } from '../plain-sums.js';
import { cleanUpAfterEach, isRoot } from './emu-helpers.js';

cleanUpAfterEach(async () => undefined);

describe.skipIf(!isRoot)('P3 and DGT, emulated (root)', () => {
  const dir = useTempDir();

  it('HiPS with P3 and with DGT (k 1): every worker the plain sum, every message the simulator\'s size; P3 pulls nothing within a data center', async () => {
    const scenario = parseScenario([
      'name: priority', 'seed: 2', 'iterations: 3', 'nodes: [a, b]',
      'node_defaults: { workers: 2, lan: { bandwidth: 1000, delay_ms: 0.05 } }',
      'links:', '  - between: [a, b]', '    bandwidth: 100', '    delay_ms: 5',
      'workload: { gradient_mb: 10, compute_ms: 30 }',
      'schedulers: [{ name: hips, label: p3, priority: p3, p3: { slice_elements: 300000 } }, { name: hips, label: dgt, dgt: { k: 1, block_kb: 16 } }]',
    ].join('\n'), join(dir.path, 'p.yaml'));
    for (const config of scenario.schedulers) {
      const run = await emulate(scenario, config, { values: true, timeoutS: 60 });
      expectPlainSums(scenario, run);
      const sizes = (transfers: Iterable<{ iteration: number; from: string; to: string; kind: string; chunk: number; bytes: number }>) =>
        [...transfers].filter((t) => t.iteration === 1).map((t) => `${t.from}>${t.to} ${t.kind} ${t.chunk} ${t.bytes}`).sort();
      expect(sizes(run.transfers), config.label).toEqual(sizes(simulate(scenario, config).transfers));
      if (config.label === 'p3') expect([...run.transfers].filter((t) => t.kind === 'pull' && t.from.includes('.w'))).toEqual([]);
    }
  }, 240_000);
});
