/**
 * Data centers with several workers, as a scenario file gives them: the
 * workers' nodes and the LAN links they get, compute times per worker,
 * and every refusal naming the field and what was expected.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/scenario/errors.js';

const base = (nodes: string, extra: string[] = []) => [
  'name: dcs', 'seed: 4', 'iterations: 2', nodes,
  'links:', '  - between: [a, b]', '    bandwidth: 100', '    delay_ms: 10', '  - between: [b, c]', '    bandwidth: 50',
  'workload: { gradient_mb: 4, compute_ms: 100 }', 'schedulers: [star, ring, netstorm]', ...extra,
].join('\n');

const refusal = (text: string): string => {
  try {
    parseScenario(text, 'dcs.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('the scenario was accepted');
};

describe('data centers with several workers', () => {
  it('one worker per data center reads as before: no worker nodes, no LAN links', () => {
    const s = parseScenario(base('nodes: [a, b, c]'), 'dcs.yaml');
    expect(s.nodes).toEqual(['a', 'b', 'c']);
    expect(s.workers).toEqual(['a', 'b', 'c']);
    expect(s.dataCenters.map((dc) => dc.workers)).toEqual([['a'], ['b'], ['c']]);
    expect(s.links).toHaveLength(4);
    expect(s.wanLinks).toBe(4);
  });

  it('workers: N makes N worker nodes on the LAN, after the data centers and after the WAN\'s links', () => {
    const s = parseScenario(base('nodes: [{ name: a, workers: 3 }, b, { name: c, worker: false }]', ['node_defaults: { workers: 2 }']), 'dcs.yaml');
    expect(s.nodes).toEqual(['a', 'b', 'c', 'a.w0', 'a.w1', 'a.w2', 'b.w0', 'b.w1']);
    expect(s.workers).toEqual(['a.w0', 'a.w1', 'a.w2', 'b.w0', 'b.w1']);
    expect(s.dataCenters).toEqual([
      { name: 'a', workers: ['a.w0', 'a.w1', 'a.w2'], computeS: [null, null, null] },
      { name: 'b', workers: ['b.w0', 'b.w1'], computeS: [null, null] },
      { name: 'c', workers: [], computeS: [] },
    ]);
    expect(s.wanLinks).toBe(4);
    expect(s.links.slice(0, 4).map((l) => l.name)).toEqual(['a->b', 'b->a', 'b->c', 'c->b']);
    expect(s.links.slice(4).map((l) => l.name)).toEqual([
      'a.w0->a', 'a->a.w0', 'a.w1->a', 'a->a.w1', 'a.w2->a', 'a->a.w2', 'b.w0->b', 'b->b.w0', 'b.w1->b', 'b->b.w1',
    ]);
    // a data center's LAN by default: 10 Gbit/s, 0.05 ms
    for (const l of s.links.slice(4)) {
      expect(l.trace.rateAt(0)).toBe(10_000);
      expect(l.delayS).toBeCloseTo(0.00005, 12);
    }
    expect(s.links.map((l) => l.id)).toEqual(s.links.map((_, i) => i));
  });

  it('a LAN takes a link\'s fields: node_defaults.lan, then the node\'s own, per direction too', () => {
    const s = parseScenario(base('nodes: [{ name: a, workers: 2, lan: { bandwidth: { forward: 400, reverse: 800 }, delay_ms: 1 } }, b, c]',
      ['node_defaults: { workers: 2, lan: { bandwidth: 1000, delay_ms: 0.2, queue_packets: 50 } }']), 'dcs.yaml');
    const lan = (name: string) => s.links.find((l) => l.name === name)!;
    expect(lan('a.w1->a').trace.rateAt(0)).toBe(400);
    expect(lan('a->a.w1').trace.rateAt(0)).toBe(800);
    expect(lan('a->a.w1').delayS).toBeCloseTo(0.001, 12);
    expect(lan('a->a.w1').queuePackets).toBe(50);
    expect(lan('b.w0->b').trace.rateAt(0)).toBe(1000);
    expect(lan('b.w0->b').delayS).toBeCloseTo(0.0002, 12);
  });

  it('compute times per worker: one for all, one each, or drawn from the seed (the same draws every time)', () => {
    const s = parseScenario(base('nodes: [{ name: a, workers: 2, compute_ms: [100, 300] }, { name: b, compute_ms: 250 }, { name: c, workers: 3, compute_ms: { uniform_ms: [100, 200] } }]'), 'dcs.yaml');
    expect(s.dataCenters[0].computeS).toEqual([0.1, 0.3]);
    expect(s.dataCenters[1].computeS).toEqual([0.25]);
    const drawn = s.dataCenters[2].computeS as number[];
    expect(drawn).toHaveLength(3);
    for (const c of drawn) {
      expect(c).toBeGreaterThanOrEqual(0.1);
      expect(c).toBeLessThanOrEqual(0.2);
    }
    expect(new Set(drawn).size).toBe(3);
    expect(parseScenario(base('nodes: [a, b, { name: c, workers: 3, compute_ms: { uniform_ms: [100, 200] } }]'), 'dcs.yaml').dataCenters[2].computeS).toEqual(drawn);
    const otherSeed = parseScenario(base('nodes: [a, b, { name: c, workers: 3, compute_ms: { uniform_ms: [100, 200] } }]'), 'dcs.yaml', { seed: 5 });
    expect(otherSeed.dataCenters[2].computeS).not.toEqual(drawn);
  });

  it('a ring lists data centers; each one\'s workers ride consecutively', () => {
    const text = base('nodes: [a, b, c]', ['node_defaults: { workers: 2 }']).replace('schedulers: [star, ring, netstorm]', 'schedulers: [{ name: ring, order: [c, a, b] }]');
    expect(parseScenario(text, 'dcs.yaml').schedulers[0]).toMatchObject({ order: ['c', 'a', 'b'] });
    expect(refusal(text.replace('order: [c, a, b]', 'order: [c, a]'))).toContain('the ring must list every data center with workers exactly once (a, b, c)');
  });

  it('refuses bad input, naming the field and what was expected', () => {
    expect(refusal(base('nodes: [{ name: a, workers: 0 }, b, c]'))).toMatch(/dcs\.yaml:\d+: nodes\[0\]\.workers: .*at least 1/);
    expect(refusal(base('nodes: [{ name: a, workers: 1025 }, b, c]'))).toMatch(/nodes\[0\]\.workers: .*at most 1024/);
    expect(refusal(base('nodes: [{ name: a, workers: 2.5 }, b, c]'))).toMatch(/nodes\[0\]\.workers/);
    expect(refusal(base('nodes: [{ name: a, worker: false, workers: 2 }, b, c]'))).toContain('nodes[0].workers: worker: false says this data center has no worker; give either worker: false or workers');
    expect(refusal(base('nodes: [{ name: a, workers: 2, compute_ms: [1, 2, 3] }, b, c]'))).toContain('nodes[0].compute_ms: expected one compute time per worker of a (2), got 3');
    expect(refusal(base('nodes: [a, b, c]', ['node_defaults: { workers: 2, compute_ms: { uniform_ms: [300, 200] } }']))).toContain('node_defaults.compute_ms.uniform_ms: the least (300) must not exceed the most (200)');
    expect(refusal(base('nodes: [a, b, c]', ['node_defaults: { workers: 2, lan: { bandwidth: -1 } }']))).toMatch(/node_defaults\.lan\.bandwidth/);
    expect(refusal(base('nodes: [a, b, c]', ['node_defaults: { workers: 2, lan: { delay_ms: 1, jitter_ms: 2 } }']))).toContain('node_defaults.lan.jitter_ms: jitter_ms (2) must not exceed delay_ms (1)');
    expect(refusal(base('nodes: [a, b, c]', ['node_defaults: { wrokers: 2 }']))).toMatch(/node_defaults: .*wrokers/);
    // worker nodes are not the file's to name
    expect(refusal(base('nodes: [{ name: a, workers: 2 }, b, c]').replace('between: [b, c]', 'between: [b, a.w0]'))).toMatch(/links\[1\]\.between\[1\]/);
  });
});
