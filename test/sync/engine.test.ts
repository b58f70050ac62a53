import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/run/simulate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { join } from 'node:path';
import type { Scenario, SchedulerConfig } from '../../src/scenario/types.js';
import { lineScenario } from '../helpers.js';
import { expectPlainSums } from '../plain-sums.js';

const star = (extra: Partial<SchedulerConfig> = {}): SchedulerConfig =>
  ({ name: 'star', label: 'star', chunk_elements: 1_000_000, bigarray_bound: 1_000_000, message: 'chunk', pull: 'pipelined', ...extra }) as SchedulerConfig;

describe('sync engine with the star scheduler', () => {
  it('matches a hand-computed timeline: push and pull pipelined by chunk', () => {
    // 8 MB = two 4 MB chunks; server a (co-located worker), worker b; 80 Mbit/s = 10 MB/s each way.
    // b pushes chunk 0 during [0.1, 0.5], chunk 1 [0.5, 0.9]; a sends chunk 0 back [0.5, 0.9], chunk 1 [0.9, 1.3].
    const run = simulate(lineScenario(80, 8, 0.1, 3), star());
    const [i0, i1] = run.iterations;
    expect(i0.end).toBeCloseTo(1.3, 9);
    // a held the update at 0.9 and starts computing then; b only at 1.3 -> iteration 1 ends 1.3 later
    expect(i1.start).toBeCloseTo(0.9, 9);
    expect(i1.end).toBeCloseTo(2.6, 9);
    expect(i0.bytes).toBe(16e6); // 8 MB up, 8 MB down, between distinct nodes
    const pulls = [...run.transfers].filter((t) => t.iteration === 0 && t.kind === 'down');
    expect(pulls.map((t) => [t.from, t.to, t.chunk, +t.sentAt.toFixed(9), +t.deliveredAt.toFixed(9)])).toEqual([
      ['a', 'b', 0, 0.5, 0.9], ['a', 'b', 1, 0.9, 1.3],
    ]);
  });

  it('a server on a node without a worker aggregates all workers', () => {
    const run = simulate(lineScenario(80, 4, 0, 1, ['b']), star());
    // single worker b: push 4 MB (0.4 s), pull 4 MB (0.4 s)
    expect(run.iterations[0].end).toBeCloseTo(0.8, 9);
  });

  for (const servers of [undefined, 'all' as const, ['dc6', 'dc2']]) {
    it(`every worker ends with the plain sum (NetStorm mesh, star servers ${JSON.stringify(servers ?? 'first')})`, () => {
      const scenario = loadScenario(join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml'), { iterations: 2, profile: 'resnet50' });
      scenario.results.transfers = false;
      expectPlainSums(scenario, simulate(scenario, star(servers ? { servers } : {}), { values: true }));
    });
  }
});
