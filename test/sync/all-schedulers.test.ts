/**
 * Every scheduler on every shipped scenario: each worker ends each iteration
 * with exactly the plain sum of all contributions (small real payloads,
 * summed for real), and iterations never beat the network's lower bound.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { SCHEDULER_NAMES } from '../../src/scenario/schema.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { expectPlainSums } from './engine.test.js';

for (const file of ['quickstart.yaml', 'netstorm-9dc.yaml']) {
  describe(file, () => {
    const scenario = loadScenario(join(PACKAGE_ROOT, 'scenarios', file), {
      iterations: 3, schedulers: [...SCHEDULER_NAMES], profile: file.startsWith('netstorm') ? 'resnet50' : undefined,
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
