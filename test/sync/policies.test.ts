/** Each policy on a whiteboard topology, where the right answer is worked out by hand. */
import { describe, expect, it } from 'vitest';
import { Topology } from '../../src/net/topology.js';
import { bestRoots, dealChunks, faptTree, netstormPolicy, type NetstormOptions } from '../../src/sync/schedulers/netstorm.js';
import { tsenginePolicy } from '../../src/sync/schedulers/tsengine.js';
import { mlnetPlan } from '../../src/sync/schedulers/mlnet.js';
import { ringPlan } from '../../src/sync/schedulers/ring.js';
import { auxiliaryPaths } from '../../src/sync/multipath.js';
import type { ChunkPlan } from '../../src/sync/plan.js';
import type { PolicyContext } from '../../src/sync/policy.js';
import { oneWorkerEach } from '../../src/model/data-centers.js';

// a-b 100, b-c 100, c-d 10, d-a 50, a-c 20 Mbit/s, both directions
const nodes = ['a', 'b', 'c', 'd'];
const undirected: [string, string, number][] = [['a', 'b', 100], ['b', 'c', 100], ['c', 'd', 10], ['d', 'a', 50], ['a', 'c', 20]];
const directed = undirected.flatMap(([x, y, r]) => [{ from: x, to: y, r }, { from: y, to: x, r }]);
const topology = Topology.fromSpecs(nodes, directed.map((l) => ({ from: l.from, to: l.to, delayS: 0 })));
const rates = directed.map((l) => l.r);
const all = new Set(nodes);

const netstormOptions = (extra: Partial<NetstormOptions> = {}): NetstormOptions => ({
  chunk_elements: 10, awareness: true, multipath: true, fixed_topology: false, measure_threshold_mb: 4, measure_window: 4,
  check_period_s: 2, initial_guess_mbps: 100, main_queue_above: 2, aux_queue_below: 1, max_paths: 3,
  // the idealisations these whiteboard cases were worked for (the fork's behaviours: test/sync/baselines.test.ts)
  initial_estimate: 'guess', score_links: 'leaf-to-root', deal: 'largest-deficit', measure_aggregate: 'mean-rate', trigger_counts: 'all', barrier: false,
  ...extra,
});
const context = (arrays = [{ name: 'x', elements: 110 }]): PolicyContext => ({
  topology, nodes, workers: nodes, dataCenters: oneWorkerEach(nodes, nodes), arrays, bytesPerElement: 4, now: 0,
});

describe('NetStorm', () => {
  it('builds the shortest-path in-tree (cost 1/throughput) towards each root and scores it by the slowest link per depth', () => {
    const a = faptTree(topology, rates, 'a', all);
    // c reaches a via b (1/100 + 1/100 < 1/20); d goes direct (1/50 < 1/10 + ...)
    expect(Object.fromEntries(a.parent)).toEqual({ b: 'a', c: 'b', d: 'a' });
    expect(a.score).toBeCloseTo(1 / 50 + 1 / 100, 12); // depth 1: min(100, 50); depth 2: 100
    const c = faptTree(topology, rates, 'c', all);
    expect(Object.fromEntries(c.parent)).toEqual({ a: 'b', b: 'c', d: 'a' });
    expect(c.score).toBeCloseTo(1 / 100 + 1 / 100 + 1 / 50, 12);
    expect(faptTree(topology, rates, 'b', all).score).toBeCloseTo(0.03, 12);
    expect(faptTree(topology, rates, 'd', all).score).toBeCloseTo(0.04, 12);
  });

  it('keeps the R best roots (ties to the lower index) and deals chunks in proportion to 1/T_r', () => {
    const trees = nodes.map((r) => faptTree(topology, rates, r, all));
    expect(bestRoots(trees, 2).map((t) => t.root)).toEqual(['a', 'b']);
    const three = bestRoots(trees, 3);
    expect(three.map((t) => t.root)).toEqual(['a', 'b', 'c']);
    // perf 1/0.03, 1/0.03, 1/0.04: shares 4/11, 4/11, 3/11 of 11 equal chunks
    const chunks: ChunkPlan[] = Array.from({ length: 11 }, (_, id) => ({ id, array: 0, offset: id, elements: 1, bytes: 4, tree: 0 }));
    const dealt = dealChunks(chunks, three.map((t) => 1 / t.score));
    expect(dealt.map((c) => c.tree)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1]);
  });

  it('the plan: R trees whose broadcast goes back down the aggregation edges, chunks of at most chunk_elements', () => {
    const policy = netstormPolicy(netstormOptions({ roots: 2, awareness: false }), 1);
    const plan = policy.currentPlan(context());
    expect(plan.trees.map((t) => t.root)).toHaveLength(2);
    expect(plan.chunks).toHaveLength(11);
    expect(plan.chunks.every((c) => c.elements <= 10)).toBe(true);
    for (const tree of plan.trees) {
      for (const [child, parent] of tree.parent) expect(tree.children.get(parent)).toContain(child);
      expect(topology.linkBetween(0, 1)).toBeDefined();
      for (const [child, parent] of tree.parent) expect(topology.linkBetween(topology.nodeIndex(child), topology.nodeIndex(parent))).toBeDefined();
    }
    expect(plan.measure).toBeUndefined(); // no awareness: nothing measured
    expect(policy.checkPeriodS).toBeUndefined();
  });

  it('awareness: measurements of physical links change the next plan; nothing changes without them', () => {
    const policy = netstormPolicy(netstormOptions({ roots: 1 }), 1);
    const first = policy.currentPlan(context());
    expect(first.measure).toEqual({ thresholdBytes: 4e6, window: 4, aggregate: 'mean-rate', metric: 'mbps' });
    policy.replan!(context());
    expect(policy.currentPlan(context())).toBe(first); // nothing measured: same plan
    policy.observe!({ from: 'a', to: 'd', mbps: 1, at: 1, iteration: 0 }); // a->d is a link
    policy.observe!({ from: 'b', to: 'd', mbps: 1, at: 1, iteration: 0 }); // b-d is not a link: ignored
    policy.replan!(context());
    const second = policy.currentPlan(context());
    expect(second.version).toBe(first.version + 1);
    // with every link measured at its true rate the single best root is a (tie with b, lower index)
    directed.forEach((l) => policy.observe!({ from: l.from, to: l.to, mbps: l.r, at: 2, iteration: 0 }));
    policy.replan!(context());
    const third = policy.currentPlan(context());
    expect(third.trees.map((t) => t.root)).toEqual(['a']);
    expect(Object.fromEntries(third.trees[0].parent)).toEqual({ b: 'a', c: 'b', d: 'a' });
    expect(third.linkCost![topology.linkBetween(0, 2)!]).toBeCloseTo(1 / 20, 12);
  });

  it('awareness: a plan is made from the estimates of the check that found the change, not from measurements after it', () => {
    const policy = netstormPolicy(netstormOptions({ roots: 1 }), 1);
    policy.currentPlan(context());
    const ad = topology.linkBetween(0, 3)!;
    policy.observe!({ from: 'a', to: 'd', mbps: 1, at: 1, iteration: 0 });
    policy.replan!(context());
    policy.observe!({ from: 'a', to: 'd', mbps: 50, at: 2, iteration: 0 }); // after the check: for the next one
    const plan = policy.currentPlan(context());
    expect(plan.linkCost![ad]).toBe(1);
    expect(policy.currentPlan(context())).toBe(plan); // asked again, before another check: the same plan
    policy.replan!(context());
    expect(policy.currentPlan(context()).linkCost![ad]).toBe(1 / 50);
  });

  it('fixed topology: the first plan\'s roots and trees stay; measurements only re-deal the chunks', () => {
    const policy = netstormPolicy(netstormOptions({ roots: 2, fixed_topology: true }), 1);
    const first = policy.currentPlan(context());
    directed.forEach((l) => policy.observe!({ from: l.from, to: l.to, mbps: l.r, at: 2, iteration: 0 }));
    policy.replan!(context());
    const second = policy.currentPlan(context());
    expect(second.version).toBe(2);
    expect(second.trees.map((t) => [t.root, [...t.parent]])).toEqual(first.trees.map((t) => [t.root, [...t.parent]]));
  });

  it('multipath: auxiliary paths avoid the direct link and each other\'s intermediate nodes, cheapest first', () => {
    const policy = netstormPolicy(netstormOptions({ awareness: false }), 1);
    const plan = policy.currentPlan(context());
    plan.linkCost = rates.map((r) => 1 / r);
    // a -> b: via c (1/20 + 1/100) beats via d, c (1/50 + 1/10 + 1/100); then c is banned and d leads nowhere else
    expect(auxiliaryPaths(plan, topology, 'a', 'b')).toEqual([['c', 'b']]);
    // d -> c: via a, b (1/50 + 1/100 + 1/100 = 0.04) beats via a (1/50 + 1/20 = 0.07); then a and b are banned
    expect(auxiliaryPaths(plan, topology, 'd', 'c')).toEqual([['a', 'b', 'c']]);
  });
});

describe('TSEngine', () => {
  const tctx: PolicyContext = { ...context([{ name: 'x', elements: 4 }]), nodes: ['s', 'a', 'b', 'c'], workers: ['s', 'a', 'b', 'c'] };
  // the idealisations these cases were worked for (the code's rules: test/sync/baselines.test.ts)
  const options = {
    chunk_elements: 4, max_greedy_rate: 0.9, forget_after_iterations: 5, measure_threshold_mb: 4,
    granularity: 'chunk', tie: 'earlier-sends', greedy_rate: 'ratio', metric: 'mbps', levels: 1,
  } as const;

  it('push: pairs from a FIFO queue seeded with the server; the faster direction sends; the server never sends', () => {
    const policy = tsenginePolicy(options, 1);
    const plan = policy.currentPlan(tctx);
    expect(plan.online).toEqual({ root: 's', contributors: 4 });
    expect(plan.chunks.every((c) => c.tree === -1)).toBe(true);
    policy.observe!({ from: 'c', to: 'b', mbps: 80, at: 0, iteration: 0 });
    policy.observe!({ from: 'b', to: 'c', mbps: 20, at: 0, iteration: 0 });
    const online = policy.online!;
    expect(online.ready('a', 0, 0)).toEqual([{ node: 'a', iteration: 0, chunk: 0, kind: 'up', to: 's' }]);
    expect(online.ready('b', 0, 0)).toEqual([]);
    expect(online.ready('c', 0, 0)).toEqual([{ node: 'c', iteration: 0, chunk: 0, kind: 'up', to: 'b' }]);
    expect(online.ready('s', 0, 0)).toEqual([]); // the server merged a's buffer and queues again
    expect(online.ready('b', 0, 0)).toEqual([{ node: 'b', iteration: 0, chunk: 0, kind: 'up', to: 's' }]);
    expect(online.ready('c', 0, 0)).toEqual([]); // c has sent: never queued again
  });

  it('pull: every holder serves the unserved node it reaches fastest when all are measured', () => {
    const policy = tsenginePolicy({ ...options, max_greedy_rate: 1 }, 1);
    policy.currentPlan(tctx);
    for (const [from, to, mbps] of [['s', 'a', 30], ['s', 'b', 10], ['s', 'c', 90], ['c', 'a', 5], ['c', 'b', 60]] as const) {
      policy.observe!({ from, to, mbps, at: 0, iteration: 0 });
    }
    expect(policy.online!.final('s', 0, 0)).toEqual([{ node: 's', iteration: 0, chunk: 0, kind: 'down', to: 'c' }]);
    expect(policy.online!.receivedFinal('c', 's', 0, 0)).toEqual([
      { node: 's', iteration: 0, chunk: 0, kind: 'down', to: 'a' },
      { node: 'c', iteration: 0, chunk: 0, kind: 'down', to: 'b' },
    ]);
  });

  it('pull: greedy with probability known/(known+unknown), else explores; old measurements are forgotten', () => {
    const policy = tsenginePolicy(options, 7);
    policy.currentPlan({ ...tctx, workers: ['s', 'a', 'b'] });
    policy.observe!({ from: 's', to: 'a', mbps: 50, at: 0, iteration: 0 });
    let greedy = 0;
    const trials = 4000;
    for (let chunk = 0; chunk < trials; chunk++) if (policy.online!.final('s', 0, chunk)[0].to === 'a') greedy++;
    // known 1 of 2 -> greedy (a) half the time, else explore among unknown (b)
    expect(greedy / trials).toBeGreaterThan(0.46);
    expect(greedy / trials).toBeLessThan(0.54);
    // at iteration 6 the measurement from iteration 0 is forgotten: a and b are both unknown, equally likely
    let picksA = 0;
    for (let chunk = 0; chunk < trials; chunk++) if (policy.online!.final('s', 6, chunk)[0].to === 'a') picksA++;
    expect(picksA / trials).toBeGreaterThan(0.46);
    expect(picksA / trials).toBeLessThan(0.54);
    // at iteration 5 it still counts
    let recent = 0;
    for (let chunk = 0; chunk < trials; chunk++) if (policy.online!.final('s', 5, chunk)[0].to === 'a') recent++;
    expect(recent / trials).toBeGreaterThan(0.46);
    expect(recent / trials).toBeLessThan(0.54);
  });

  it('forget_after_iterations: never (TSEngine inside GeoMX): a measurement from iteration 0 still steers the pull at iteration 1000', () => {
    const policy = tsenginePolicy({ ...options, forget_after_iterations: 'never', max_greedy_rate: 1 }, 7);
    policy.currentPlan({ ...tctx, workers: ['s', 'a', 'b'] });
    policy.observe!({ from: 's', to: 'a', mbps: 50, at: 0, iteration: 0 });
    policy.observe!({ from: 's', to: 'b', mbps: 10, at: 0, iteration: 0 });
    // both known for good: always greedy, always a (with forgetting after 5, half of these would go to b)
    for (let chunk = 0; chunk < 200; chunk++) expect(policy.online!.final('s', 1000, chunk)[0].to).toBe('a');
  });
});

describe('MLNET', () => {
  it('a k-ary tree in heap layout rooted at the server, one tree for every chunk', () => {
    const workers = ['s', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6'];
    const plan = mlnetPlan(workers, workers, [{ name: 'x', elements: 25 }], { k: 2, chunk_elements: 10 });
    expect(Object.fromEntries(plan.trees[0].parent)).toEqual({ w1: 's', w2: 's', w3: 'w1', w4: 'w1', w5: 'w2', w6: 'w2' });
    expect(plan.trees[0].children.get('w1')).toEqual(['w3', 'w4']);
    expect(plan.chunks.map((c) => c.elements)).toEqual([10, 10, 5]);
    const ternary = mlnetPlan(workers, workers, [{ name: 'x', elements: 1 }], { k: 3, server: 'w3', chunk_elements: 10 });
    expect(Object.fromEntries(ternary.trees[0].parent)).toEqual({ s: 'w3', w1: 'w3', w2: 'w3', w4: 's', w5: 's', w6: 's' });
  });
});

describe('ring all-reduce', () => {
  it('segment s is reduced along the ring from member s to s-1, then passed on around to s-2', () => {
    const plan = ringPlan(['a', 'b', 'c'], [{ name: 'x', elements: 4 }, { name: 'y', elements: 5 }], { chunk_elements: 2 });
    const [t0, t1, t2] = plan.trees;
    expect([t0.root, Object.fromEntries(t0.parent), Object.fromEntries(t0.children)]).toEqual(['c', { a: 'b', b: 'c' }, { c: ['a'], a: ['b'] }]);
    expect([t1.root, Object.fromEntries(t1.parent)]).toEqual(['a', { b: 'c', c: 'a' }]);
    expect([t2.root, Object.fromEntries(t2.parent)]).toEqual(['b', { c: 'a', a: 'b' }]);
    // 9 elements in 3 segments [0,3) [3,6) [6,9), cut at array bounds and at 2 elements
    expect(plan.chunks.map((c) => [c.array, c.offset, c.elements, c.tree])).toEqual([
      [0, 0, 2, 0], [0, 2, 1, 0], [0, 3, 1, 1], [1, 0, 2, 1], [1, 2, 2, 2], [1, 4, 1, 2],
    ]);
  });
});
