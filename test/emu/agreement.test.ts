/**
 * Emulated and simulated runs agree (root; CI runs as root): each
 * scheduler's mean iteration time over real TCP on kernel-shaped links is
 * within 15% of the flow-level simulator's, when the emulated run's own
 * check says the host kept up: the CPUs not saturated, no agent at a whole
 * core or with late timers (otherwise the test says so and is skipped,
 * never passed in silence). The scenario: the quickstart at a quarter of
 * its rates, gradient and chunks (the same iteration times, a quarter of the
 * packets), which a 2-core host emulates with CPU to spare. The full-rate
 * quickstart saturates such a host's CPUs (NetStorm's run under 10% idle in
 * 45-53% of its samples, so it could never be judged in CI) and ran 6-9%
 * over simulated here (docs/emulation.md); a host with more cores runs it
 * with `geobed run scenarios/quickstart.yaml --mode emu`.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadScenario } from '../../src/scenario/load.js';
import { SCHEDULER_NAMES } from '../../src/sync/schedulers/index.js';
import { emulate } from '../../src/run/emulate.js';
import { simulate } from '../../src/run/simulate.js';
import { iterationTimes } from '../../src/results/summary.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { assertFiguresOnlyIfHostKeptUp, hostProblems } from './emu-helpers.js';

const isRoot = process.getuid?.() === 0;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

// (dcs.yaml: the same with two workers in every data center, each in a namespace of its own on its data center's LAN)
const SCENARIOS = ['scenario.yaml', 'dcs.yaml'].map((f) => join(PACKAGE_ROOT, 'test', 'emu', 'fixtures', 'quickstart-quarter', f));

describe.skipIf(!isRoot)('emulation agrees with simulation (root)', () => {
  for (const file of SCENARIOS) {
    // each fixture lists its schedulers: scenario.yaml all but hips (with one worker per data center and its
    // global server where star's server is, hips runs star's messages: the simulator's digests show it), dcs.yaml
    // every one but stellatrain (its dense LAN pushes with nothing slow on the WAN keep a 2-core host too busy
    // to judge: test/emu/compression.test.ts runs it, bytes exact and workers identical)
    const all = loadScenario(file, { iterations: 10 });
    const stellatrain = (n: string) => n !== 'stellatrain';
    expect(all.schedulers.map((s) => s.name)).toEqual(file.endsWith('dcs.yaml') ? SCHEDULER_NAMES.filter(stellatrain) : SCHEDULER_NAMES.filter((n) => n !== 'hips' && stellatrain(n)));
    for (const config of all.schedulers) {
      it(`${config.label}: mean iteration time emulated / simulated within 15% on ${all.name}`, async (ctx) => {
        const simulated = mean(iterationTimes(simulate(all, config)));
        const run = await emulate(all, config, { timeoutS: 120 });
        // a measurement: asserted only when the run's own check says the host gave it what it needed
        // (a link that fell short with the host keeping up is the emulator's fault: it fails here)
        assertFiguresOnlyIfHostKeptUp(ctx, `agreement (${config.label}, ${all.name})`, hostProblems(run.health));
        const emulated = mean(iterationTimes(run));
        const ratio = emulated / simulated;
        expect(ratio, `emulated ${emulated.toFixed(3)} s, simulated ${simulated.toFixed(3)} s`).toBeGreaterThan(0.85);
        expect(ratio, `emulated ${emulated.toFixed(3)} s, simulated ${simulated.toFixed(3)} s`).toBeLessThan(1.15);
      }, 240_000);
    }
  }
});
