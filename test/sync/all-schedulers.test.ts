/**
 * Every scheduler on every shipped scenario: each worker ends each iteration
 * with exactly the plain sum of all contributions (small real payloads,
 * summed for real), and iterations never beat the network's lower bound.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { expectPlainSums, SUMMING_SCHEDULERS } from '../plain-sums.js';

for (const file of ['quickstart.yaml', 'netstorm-9dc.yaml', 'netstorm-paper.yaml']) {
  describe(file, () => {
    const scenario = loadScenario(join(PACKAGE_ROOT, 'scenarios', file), {
      iterations: 3, schedulers: [...SUMMING_SCHEDULERS], profile: file.startsWith('netstorm') ? 'resnet50' : undefined,
    });
    scenario.results.transfers = false;
    for (const config of scenario.schedulers) {
      it(`${config.label}: every worker holds the plain sum after every iteration`, () => {
        const run = simulate(scenario, config, { values: true });
        expect(run.iterations).toHaveLength(3);
        expectPlainSums(scenario, run);
      });
    }
  });
}

describe('a WAN with a transit node that runs no worker', () => {
  // r is a pure router in the middle; the server-based schedulers put their server there by default.
  const text = [
    'name: transit', 'seed: 5', 'iterations: 3',
    'nodes: [{ name: r, worker: false }, a, b, c, d]',
    'link_defaults: { bandwidth: { generator: redraw-uniform, min_mbps: 20, max_mbps: 155, period_s: 2 } }',
    'links:', '  - between: [r, a]', '  - between: [r, b]', '  - between: [r, c]', '  - between: [c, d]', '  - between: [a, b]',
    'workload: { gradient_mb: 12, compute_ms: 20 }',
    `schedulers: [${SUMMING_SCHEDULERS.join(', ')}, { name: netstorm, label: netstorm-r1, roots: 1 }, { name: star, label: star-all, servers: all }]`,
  ].join('\n');
  const scenario = parseScenario(text, 'transit.yaml');
  scenario.results.transfers = false;
  for (const config of scenario.schedulers) {
    it(`${config.label}: the four workers end every iteration with the plain sum`, () => {
      const run = simulate(scenario, config, { values: true });
      expect([...run.workers.keys()]).toEqual(['a', 'b', 'c', 'd']);
      expectPlainSums(scenario, run);
    });
  }
});
