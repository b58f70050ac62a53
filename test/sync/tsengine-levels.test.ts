/**
 * TSEngine as GeoMX runs it where data centers hold several workers
 * (levels: 2): one instance within each data center (its workers merging
 * pairwise into its node, the local server; ENABLE_INTRA_TS) and one across
 * data centers (the data centers' nodes into the global server;
 * ENABLE_INTER_TS), each with its own arbiter (INET-RC/GeoMX
 * 3rdparty/ps-lite/src/van.cc ProcessAskPushCommand,
 * ProcessAskPushGlobalCommand), worked by hand.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { makePolicy } from '../../src/sync/schedulers/index.js';
import type { Measurement } from '../../src/sync/policy.js';

const text = (schedulers: string, nodes = '[a, b, { name: c, workers: 1 }]') => [
  'name: ts2', 'seed: 2', 'iterations: 3', `nodes: ${nodes}`, 'node_defaults: { workers: 3 }',
  'links:', '  - between: [a, b]', '    bandwidth: 100', '    delay_ms: 5', '  - between: [b, c]', '    bandwidth: 50',
  'workload: { gradient_mb: 1, compute_ms: 50 }',
  `schedulers: [${schedulers}]`,
].join('\n');

const hops = (run: ReturnType<typeof simulate>, iteration: number, kind: 'up' | 'down') =>
  [...run.transfers].filter((t) => t.iteration === iteration && t.kind === kind && t.from !== t.to).map((t) => `${t.from}>${t.to}`);

describe('TSEngine on two levels (GeoMX)', () => {
  it('merges pairwise inside each data center into its node, then across data centers into the server; pulls the same way back; every worker ends with the sum', () => {
    const s = parseScenario(text('{ name: tsengine, levels: 2 }'), 'ts2.yaml');
    const run = simulate(s, s.schedulers[0], { values: true });
    // a and b: three workers each, all ready at 50 ms. Within a: the queue holds a (the server); a.w0 pairs with it and
    // sends; a.w1 waits; a.w2 pairs with a.w1 and, neither measured, the later sends (the code's A[a][b] > A[b][a]);
    // a (merged) and a.w1 (merged) pair: a.w1 sends. b alike. Across: c pairs with a (the server) and sends; b, once it
    // holds its three, pairs with a and sends.
    expect(hops(run, 0, 'up')).toEqual(['a.w0>a', 'b.w0>b', 'a.w2>a.w1', 'b.w2>b.w1', 'a.w1>a', 'b.w1>b', 'c>a', 'b>a']);
    // pulls: a serves across (c, then b) and within a (a.w0, a.w2; a.w0 serves a.w1); b, once it holds the sum, within b
    expect(hops(run, 0, 'down').sort()).toEqual(['a.w0>a.w1', 'a>a.w0', 'a>a.w2', 'a>b', 'a>c', 'b.w2>b.w1', 'b>b.w0', 'b>b.w2'].sort());
    const workers = [...run.workers.values()];
    expect(workers.reduce((t, w) => t + w.checked, 0)).toBe(7 * 3);
    expect(workers.flatMap((w) => w.mismatches)).toEqual([]);
    // the WAN carries what one level's does: each data center's sum once up, the result once down
    const one = simulate(s, { ...s.schedulers[0], levels: 1 } as typeof s.schedulers[0]);
    expect(run.iterations.map((r) => r.wanBytes)).toEqual(one.iterations.map((r) => r.wanBytes));
    // one level gathers plainly: every worker straight to its data center's node
    expect(hops(one, 0, 'up').filter((h) => h.includes('.w'))).toEqual(['a.w0>a', 'a.w1>a', 'a.w2>a', 'b.w0>b', 'b.w1>b', 'b.w2>b']);
  });

  it('each level measures its own pairs: the arbiters learn the LAN\'s throughputs too (one level measures the WAN only)', () => {
    const s = parseScenario(text('{ name: tsengine, levels: 2 }, { name: tsengine, label: one, levels: 1 }'), 'ts2.yaml');
    const seen = (index: number) => {
      const inner = makePolicy(s.schedulers[index], s);
      const measured: Measurement[] = [];
      simulate(s, s.schedulers[index], { policy: { ...inner, observe: (m) => { measured.push(m); inner.observe!(m); } } });
      return measured;
    };
    const lan = (ms: Measurement[]) => ms.filter((m) => m.from.includes('.w') || m.to.includes('.w'));
    expect(lan(seen(0)).length).toBeGreaterThan(0);
    expect(lan(seen(1))).toEqual([]);
  });

  it('with one worker per data center, two levels are one: the same messages', () => {
    const s = parseScenario(text('{ name: tsengine, levels: 2 }, { name: tsengine, label: one }', '[a, b, c]').replace('node_defaults: { workers: 3 }', 'node_defaults: { workers: 1 }'), 'ts2.yaml');
    const [two, one] = s.schedulers.map((c) => simulate(s, c));
    expect([...two.transfers]).toEqual([...one.transfers]);
  });
});
