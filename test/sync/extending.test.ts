/**
 * docs/extending.md's worked example (test/sync/chain-example.ts): a new
 * scheduler defined in one module runs, every worker ending on the plain
 * sum, and its option checks refuse what they should.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { expectPlainSums } from '../plain-sums.js';
import { chain } from './chain-example.js';

const text = [
  'name: chain-example', 'seed: 3', 'iterations: 3', 'nodes: [a, b, c, d]',
  'link_defaults: { bandwidth: 100 }',
  'links:', '  - between: [a, b]', '  - between: [b, c]', '  - between: [c, d]',
  'workload: { gradient_mb: 8, compute_ms: 10 }', 'schedulers: [star]',
].join('\n');

describe('the worked example of docs/extending.md', () => {
  const scenario = parseScenario(text, 'chain.yaml');
  const run_ = { nodes: scenario.nodes, workers: scenario.workers, dataCenters: scenario.dataCenters, seed: scenario.seed };

  it('a chain scheduler from one definition runs, every worker ending on the plain sum', () => {
    const options = chain.spec.parse({ name: 'chain', chunk_elements: 250_000 });
    expect(chain.check!(options, run_)).toEqual([]);
    const config = { ...options, label: 'chain' };
    const run = simulate(scenario, scenario.schedulers[0], { values: true, policy: chain.policy(config, run_) });
    expect(run.iterations).toHaveLength(3);
    expectPlainSums(scenario, run);
    // a chain over a line a-b-c-d: every message crosses one link, so an iteration costs at least
    // the 8 MB gradient's (n-1) hops up plus (n-1) down, pipelined in 2 MB chunks
    expect(run.iterations[1].end! - run.iterations[1].start).toBeGreaterThan((2 * 8 * 8) / 100 / 4);
  });

  it('its checks refuse a chain that does not list every worker', () => {
    const options = chain.spec.parse({ name: 'chain', order: ['a', 'b', 'c'] });
    expect(chain.check!(options, run_)).toEqual([{ path: ['order'], message: 'the chain must list every worker exactly once (a, b, c, d)' }]);
    expect(() => chain.spec.parse({ name: 'chain', chunk_elements: 0 })).toThrow();
  });
});
