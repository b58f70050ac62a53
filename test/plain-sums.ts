import { expect } from 'vitest';
import { syntheticSum } from '../src/train/synthetic.js';
import type { Scenario } from '../src/scenario/types.js';
import type { SchedulerRun } from '../src/run/simulate.js';
import { SCHEDULER_NAMES, schedulerDefinition } from '../src/sync/schedulers/index.js';

/** The schedulers whose workers end every iteration with the plain sum (not StellaTrain's, which gather every node's sparse selection: test/sync/compression/stellatrain.test.ts). */
export const SUMMING_SCHEDULERS = SCHEDULER_NAMES.filter((name) => !schedulerDefinition(name)!.gathered);

/**
 * Every worker held, for every chunk of every iteration, exactly the sum of
 * all workers' contributions (each worker checks as the finals arrive).
 */
export function expectPlainSums(scenario: Scenario, run: SchedulerRun): void {
  const chunks = run.workers.values().next().value!.finals.size;
  expect(chunks).toBeGreaterThan(0);
  for (const [node, worker] of run.workers) {
    expect(worker.mismatches, `${run.label} at ${node}`).toEqual([]);
    expect(worker.checked, `${run.label} at ${node}`).toBe(chunks * scenario.iterations);
    for (const [chunk, final] of worker.finals) {
      expect(Array.from(final.values!), `${run.label}: ${node} chunk ${chunk}`).toEqual(Array.from(syntheticSum(scenario.workers.length, scenario.iterations - 1, chunk)));
    }
  }
}
