/**
 * The policy consistency protocol: a plan made while an iteration runs takes
 * effect at the next iteration boundary that nobody has crossed yet; no
 * iteration ever mixes two plans.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/run/simulate.js';
import { starTree, chunkArrays, type Plan } from '../../src/sync/plan.js';
import type { Policy } from '../../src/sync/policy.js';
import type { SchedulerConfig } from '../../src/scenario/types.js';
import { lineScenario } from '../helpers.js';
import { expectPlainSums } from '../plain-sums.js';

/** Star rooted at a (version 1); at `switchAt` seconds the policy switches to star rooted at b (version 2). */
function switchingPolicy(switchAt: number): Policy {
  let plan: Plan | null = null;
  return {
    checkPeriodS: switchAt,
    currentPlan(ctx) {
      plan ??= { version: 1, trees: [starTree('a', ctx.workers)], chunks: chunkArrays(ctx.arrays, 1_000_000, 4) };
      return plan;
    },
    replan(ctx) {
      if (plan!.version === 1) plan = { version: 2, trees: [starTree('b', ctx.workers)], chunks: chunkArrays(ctx.arrays, 1_000_000, 4) };
    },
  };
}

const config = { name: 'star', label: 'switching', chunk_elements: 1_000_000, bigarray_bound: 1_000_000, message: 'chunk', pull: 'pipelined' } as SchedulerConfig;

describe('policy consistency', () => {
  // Iteration 0 (plan 1, root a): a holds the update at 0.9 s and asks for iteration 1's plan then; b at 1.3 s.
  it('a plan made mid-iteration applies from the next iteration', () => {
    const scenario = lineScenario(80, 8, 0.1, 3);
    const run = simulate(scenario, config, { values: true, policy: switchingPolicy(0.5) });
    expect(run.iterations.map((i) => i.planVersion)).toEqual([1, 2, 2]);
    // under plan 2 the root is b: a pushes to b
    expect([...run.transfers].filter((t) => t.iteration === 1 && t.kind === 'up').every((t) => t.from === 'a' && t.to === 'b')).toBe(true);
    expect([...run.transfers].filter((t) => t.iteration === 0 && t.kind === 'up').every((t) => t.from === 'b' && t.to === 'a')).toBe(true);
    expectPlainSums(scenario, run);
  });

  it('a plan made after the first node crossed a boundary waits for the following one', () => {
    const scenario = lineScenario(80, 8, 0.1, 3);
    // at 1.0 s, a has already started iteration 1 under plan 1; b joins it at 1.3 s under plan 1 too
    const run = simulate(scenario, config, { values: true, policy: switchingPolicy(1.0) });
    expect(run.iterations.map((i) => i.planVersion)).toEqual([1, 1, 2]);
    expect([...run.transfers].filter((t) => t.iteration === 1 && t.kind === 'up').every((t) => t.from === 'b' && t.to === 'a')).toBe(true);
    expectPlainSums(scenario, run);
  });
});
