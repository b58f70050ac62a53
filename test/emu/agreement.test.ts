/**
 * Emulated and simulated runs agree (root; CI runs as root): each
 * scheduler's mean iteration time over real TCP on kernel-shaped links is
 * within 15% of the flow-level simulator's, when the emulated run's own
 * fidelity check says the host kept up: no busy link fell short and the
 * CPUs were not saturated (otherwise the test says so and is skipped, never
 * passed in silence). Two scenarios: the quickstart, and the quickstart at
 * a quarter of its rates, gradient and chunks (the same iteration times, a
 * quarter of the packets), which a 2-core host emulates with CPU to spare;
 * at full rates such a host is saturated and the runs take 5-17% longer.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadScenario } from '../../src/scenario/load.js';
import { SCHEDULER_NAMES } from '../../src/sync/schedulers/index.js';
import { emulate } from '../../src/run/emulate.js';
import { simulate } from '../../src/run/simulate.js';
import { iterationTimes } from '../../src/results/summary.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { fidelityProblems } from '../../src/results/fidelity.js';

const isRoot = process.getuid?.() === 0;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

const SCENARIOS = [
  join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml'),
  join(PACKAGE_ROOT, 'test', 'emu', 'fixtures', 'quickstart-quarter', 'scenario.yaml'),
];

describe.skipIf(!isRoot)('emulation agrees with simulation (root)', () => {
  for (const file of SCENARIOS) {
    const scenario = loadScenario(file, { iterations: 10 });
    const all = scenario.schedulers.length === SCHEDULER_NAMES.length ? scenario : loadScenario(file, { iterations: 10, schedulers: [...SCHEDULER_NAMES] });
    for (const config of all.schedulers) {
      it(`${config.label}: mean iteration time emulated / simulated within 15% on ${all.name}`, async (ctx) => {
        const simulated = mean(iterationTimes(simulate(all, config)));
        const run = await emulate(all, config, { timeoutS: 120 });
        // a measurement: asserted only when the run's own fidelity check says the host kept up
        const problems = fidelityProblems(run.fidelity, run.health, (id) => all.links[id].name);
        if (problems.length) {
          process.stderr.write(`agreement (${config.label}, ${all.name}): not asserted, this host was too busy: ${problems.join('; ')}\n`);
          ctx.skip(`host too busy: ${problems.join('; ')}`);
        }
        const emulated = mean(iterationTimes(run));
        const ratio = emulated / simulated;
        expect(ratio, `emulated ${emulated.toFixed(3)} s, simulated ${simulated.toFixed(3)} s`).toBeGreaterThan(0.85);
        expect(ratio, `emulated ${emulated.toFixed(3)} s, simulated ${simulated.toFixed(3)} s`).toBeLessThan(1.15);
      }, 240_000);
    }
  }
});
