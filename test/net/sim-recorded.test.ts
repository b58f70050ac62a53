/**
 * The simulator's results, byte for byte, against digests recorded before
 * a change that should not change them (the incremental max-min solver,
 * say): every shipped scenario with all its schedulers and fixed seeds,
 * and generated meshes (the benchmark's kind, with bandwidth changes), one
 * sha256 per CSV in fixtures/sim-digests.json. A change that is meant to
 * change results re-records them with `npx vitest run test/net/sim-recorded.test.ts -u`
 * and says why in its commit.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../../src/scenario/load.js';
import { generatedMesh } from '../../src/scenario/generate.js';
import { runScenario } from '../../src/run/run.js';
import { schedulerSpec } from '../../src/sync/schedulers/index.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import type { Scenario, SchedulerConfig } from '../../src/scenario/types.js';

const shipped = (file: string, options: Parameters<typeof loadScenario>[1] = {}) => () => loadScenario(join(PACKAGE_ROOT, 'scenarios', file), options);
/** The schedulers the first digests were recorded with (a scheduler added later has cases of its own below). */
const RECORDED = ['star', 'mlnet', 'tsengine', 'ring', 'netstorm'];
const everyScheduler = (): SchedulerConfig[] => RECORDED.map((name) => ({ ...schedulerSpec.parse(name), label: name }));

const CASES: [string, () => Scenario][] = [
  ['quickstart', shipped('quickstart.yaml', { schedulers: RECORDED })],
  ['netstorm-9dc-small', shipped('netstorm-9dc-small.yaml')],
  ['netstorm-9dc', shipped('netstorm-9dc.yaml', { iterations: 5 })],
  ['netstorm-9dc-resnet50', shipped('netstorm-9dc.yaml', { iterations: 3, profile: 'resnet50' })],
  ['netstorm-paper', shipped('netstorm-paper.yaml', { iterations: 3 })],
  // the benchmark's meshes: random links redrawn every 180 s, so capacities change mid-transfer
  ['mesh-64', () => generatedMesh({ nodes: 64, iterations: 3, schedulers: everyScheduler() })],
  ['mesh-48-fast-changes', () => generatedMesh({ nodes: 48, iterations: 3, seed: 7, periodS: 5, schedulers: everyScheduler() })],
  // data centers with several workers (every scheduler; HiPS with one and three global servers)
  ['netstorm-9dc-small-2-workers', shipped('netstorm-9dc-small.yaml', { iterations: 3, set: ['node_defaults.workers=2'], schedulers: [...RECORDED, 'hips'] })],
  ['netstorm-9dc-small-2-workers-hips-3', shipped('netstorm-9dc-small.yaml', { iterations: 3, set: ['node_defaults.workers=2', 'schedulers.hips.global_servers=3'], schedulers: ['hips'] })],
  ['quickstart-hips', shipped('quickstart.yaml', { schedulers: ['hips'] })],
  // compression (sync/compression) and StellaTrain, over the 9-DC WAN with two workers per data center
  ['netstorm-9dc-small-2-workers-compressed', shipped('netstorm-9dc-small.yaml', {
    iterations: 3, schedulers: ['hips', 'star', 'stellatrain'],
    set: ['node_defaults.workers=2', 'schedulers.hips.compression.bisparse.ratio=0.01', 'schedulers.star.compression.topk.ratio=0.01'],
  })],
];

describe('simulated results stay byte-identical to the recorded ones', () => {
  it('every CSV of the shipped scenarios and of generated meshes', async () => {
    const work = mkdtempSync(join(tmpdir(), 'geobed-sim-recorded-'));
    try {
      const digests: Record<string, string> = {};
      for (const [name, scenario] of CASES) {
        const out = join(work, name);
        await runScenario(scenario(), { mode: 'sim', out });
        for (const file of readdirSync(out).filter((f) => f.endsWith('.csv')).sort()) {
          digests[`${name}/${file}`] = createHash('sha256').update(readFileSync(join(out, file))).digest('hex');
        }
      }
      await expect(`${JSON.stringify(digests, null, 2)}\n`).toMatchFileSnapshot('./fixtures/sim-digests.json');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);
});
