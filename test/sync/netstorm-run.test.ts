/** NetStorm's mechanisms at work in a whole simulated run on the paper's 9-DC WAN. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import type { SchedulerConfig } from '../../src/scenario/types.js';

const scenario = loadScenario(join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml'), { iterations: 8, profile: 'resnet50' });
const variant = (label: string) => scenario.schedulers.find((s) => s.label === label) as SchedulerConfig;

describe('NetStorm in a simulated run', () => {
  it('with awareness, measurements lead to new plans, each used by whole iterations', () => {
    const run = simulate(scenario, variant('netstorm'));
    const versions = run.iterations.map((i) => i.planVersion);
    expect(versions[0]).toBe(1);
    expect(Math.max(...versions)).toBeGreaterThan(1);
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThanOrEqual(versions[i - 1]);
  });

  it('without awareness the first plan stays', () => {
    const run = simulate(scenario, variant('netstorm-fapt'));
    expect(new Set(run.iterations.map((i) => i.planVersion))).toEqual(new Set([1]));
  });

  it('multipath sends some chunks over auxiliary paths, relayed hop by hop between neighbours; off, none', () => {
    const full = simulate(scenario, variant('netstorm'));
    const aux = [...full.transfers].filter((t) => t.aux);
    expect(aux.length).toBeGreaterThan(0);
    const neighbours = new Set(scenario.links.map((l) => `${l.from}->${l.to}`));
    for (const t of full.transfers) expect(neighbours.has(`${t.from}->${t.to}`), `${t.from}->${t.to}`).toBe(true);
    const single = simulate(scenario, variant('netstorm-aware'));
    expect([...single.transfers].some((t) => t.aux)).toBe(false);
  });
});
