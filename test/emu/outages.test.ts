/**
 * Outages (root; CI runs as root; issue 25): a link that drops to 0 Mbit/s
 * and comes back carries traffic again at once, on both link backends. The
 * three cases a user meets — a step to 0 and back, an on-off link, a trace
 * file with zeros — each finish every iteration (always asserted), and their
 * mean iteration time is within 15% of the simulator's (the agreement
 * bound of agreement.test.ts) when the run's own check says the host kept
 * up. Before the fix the native emulator never recovered (the run stalled)
 * and kernel links stayed near-dead for tens of seconds after an outage.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadScenario } from '../../src/scenario/load.js';
import { emulate } from '../../src/run/emulate.js';
import { simulate } from '../../src/run/simulate.js';
import { iterationTimes } from '../../src/results/summary.js';
import { LINK_BACKENDS } from '../../src/run/link-backends.js';
import type { Scenario } from '../../src/scenario/types.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { assertFiguresOnlyIfHostKeptUp, cleanUpAfterEach, hostProblems, isRoot } from './emu-helpers.js';

cleanUpAfterEach(async () => undefined);

const FIXTURES = join(PACKAGE_ROOT, 'test', 'emu', 'fixtures', 'outages');
const CASES = ['step.yaml', 'on-off.yaml', 'trace-zeros.yaml'];
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/**
 * The outages' starts and ends: where an iteration ending within 0.3 s
 * before an outage (or just after one) would end a whole outage later on a
 * host a little slower, so a fixture must keep its iterations' ends away
 * from them for a 15% bound to judge the emulator rather than the timing.
 */
function outageEdges(scenario: Scenario, until: number): number[] {
  const edges: number[] = [];
  for (const link of scenario.links) {
    for (let t = 0; t < until;) {
      const next = link.trace.nextChangeAfter(t);
      if (next === Infinity) break;
      if (link.trace.rateAt(next) === 0) edges.push(next, link.trace.nextChangeAfter(next));
      t = next;
    }
  }
  return edges;
}

describe.skipIf(!isRoot)('outages: links at 0 Mbit/s that come back (root)', () => {
  for (const file of CASES) {
    const scenario = loadScenario(join(FIXTURES, file));
    const config = scenario.schedulers[0];
    const simulated = simulate(scenario, config);

    it(`${scenario.name}: the simulated iterations end away from outage edges, and the outages slow them (the fixture tests something)`, () => {
      const ends = simulated.iterations.map((i) => i.end!);
      const edges = outageEdges(scenario, ends[ends.length - 1]);
      expect(edges.length).toBeGreaterThan(0);
      for (const end of ends) for (const edge of edges) expect(Math.abs(end - edge), `an iteration ends at ${end.toFixed(3)} s, an outage edge is at ${edge.toFixed(3)} s`).toBeGreaterThan(0.3);
      const steady = simulate(loadScenario(join(FIXTURES, file), { set: ['links.0.bandwidth=50'] }), config); // (link 0 is the one with outages)
      expect(mean(iterationTimes(simulated))).toBeGreaterThan(1.05 * mean(iterationTimes(steady)));
    });

    for (const backend of LINK_BACKENDS) {
      it(`${scenario.name} on ${backend} links: every iteration finishes, and the mean iteration time is within 15% of the simulator's`, async (ctx) => {
        const run = await emulate(scenario, config, { links: backend, timeoutS: 120, stallS: 20 });
        expect(run.iterations.filter((i) => i.end !== null)).toHaveLength(scenario.iterations);
        assertFiguresOnlyIfHostKeptUp(ctx, `outage agreement (${scenario.name}, ${backend})`, hostProblems(run.health));
        const [emulated, expected] = [mean(iterationTimes(run)), mean(iterationTimes(simulated))];
        const ratio = emulated / expected;
        expect(ratio, `emulated ${emulated.toFixed(3)} s, simulated ${expected.toFixed(3)} s`).toBeGreaterThan(0.85);
        expect(ratio, `emulated ${emulated.toFixed(3)} s, simulated ${expected.toFixed(3)} s`).toBeLessThan(1.15);
      }, 180_000);
    }
  }
});
