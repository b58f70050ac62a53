/**
 * The baselines as their published code runs them: each behaviour that
 * follows the code, and the idealisation it replaces, on a whiteboard case
 * worked out by hand (the sources are cited in the schedulers' modules and
 * docs/schedulers.md).
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/run/simulate.js';
import { PiecewiseTrace } from '../../src/scenario/traces/piecewise.js';
import { Topology } from '../../src/net/topology.js';
import { PROFILES } from '../../src/model/profiles.js';
import { starPlan, type StarOptions } from '../../src/sync/schedulers/star.js';
import { dealChunks, dealQuotaRoundRobin, rootToLeafScore, vanInitialEstimates } from '../../src/sync/schedulers/netstorm.js';
import { greedyProbability, tsenginePolicy, type TsengineOptions } from '../../src/sync/schedulers/tsengine.js';
import { aggregateRate, PULL_REQUEST_BYTES } from '../../src/sync/agent.js';
import { starTree, type ChunkPlan, type Plan } from '../../src/sync/plan.js';
import type { Measurement, Policy } from '../../src/sync/policy.js';
import type { Scenario, SchedulerConfig } from '../../src/scenario/types.js';
import { GlibcRand } from '../../src/util/glibc-rand.js';
import { PythonRandom } from '../../src/util/python-random.js';
import { generateTrace } from '../../src/scenario/traces/generators.js';
import { DEFAULT_TCP } from '../../src/scenario/schema.js';
import { oneWorkerEach } from '../../src/model/data-centers.js';

/** A chain of nodes, each link `mbps` both ways (or per direction), no delay, payload bytes only. */
function chain(nodes: string[], mbps: number | ((from: string, to: string) => number), arrays: number[], workers: string[], underlay: 'ip' | 'relay' = 'ip', computeS = 0, iterations = 1): Scenario {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < nodes.length; i++) pairs.push([nodes[i], nodes[i + 1]], [nodes[i + 1], nodes[i]]);
  const rate = typeof mbps === 'number' ? () => mbps : mbps;
  const links = pairs.map(([from, to], id) => ({
    id, from, to, name: `${from}->${to}`, delayS: 0, maxDelayS: 0, delayOverTime: null, jitterS: 0, reorder: false, lossPercent: 0, lossOverTime: null, queuePackets: null, mahimahi: null,
    trace: PiecewiseTrace.constant(rate(from, to)), rateSource: '',
  }));
  const modelArrays = arrays.map((mb, k) => ({ name: `k${k}`, elements: (mb * 1e6) / 4 }));
  return {
    name: 'chain', description: '', file: '', hash: '', seed: 1, iterations, nodes, workers, dataCenters: oneWorkerEach(nodes, workers), wanLinks: links.length, links,
    workload: { profile: 'custom', arrays: modelArrays, bytesPerElement: 4, computeS, totalBytes: arrays.reduce((s, x) => s + x * 1e6, 0), training: null },
    schedulers: [], network: { framing: 'none', queueing: 'fair', underlay, tcp: DEFAULT_TCP, sharing: 'max-min' }, results: { bin_s: 1, transfers: true, packet_log: false, pcap: false, compress: false },
  };
}

const star = (extra: Partial<StarOptions> = {}): SchedulerConfig =>
  ({ name: 'star', label: 'star', chunk_elements: 1_000_000, bigarray_bound: 1_000_000, message: 'key-part', pull: 'pipelined', ...extra }) as SchedulerConfig;

const rows = (run: ReturnType<typeof simulate>, iteration = 0) =>
  [...run.transfers].filter((t) => t.iteration === iteration).map((t) => [t.kind, t.from, t.to, t.chunk, +t.sentAt.toFixed(7), +t.deliveredAt.toFixed(7)]);

describe('MXNET (star) as the paper\'s trainer drives it', () => {
  const alexnet = PROFILES.alexnet().arrays;
  const nine = Array.from({ length: 9 }, (_, i) => `dc${i + 1}`);

  it('message key-part: one message per key part (AlexNet fc6 over 9 servers: 9 parts of 16.8 MB); small keys whole, round robin as 9973 = 1 mod 9', () => {
    const plan = starPlan(nine, nine, alexnet, { servers: 'all', chunk_elements: 1_000_000, bigarray_bound: 1_000_000, message: 'key-part', pull: 'per-key-blocking' });
    const fc6 = alexnet.findIndex((a) => a.name === 'fc6.weight');
    const parts = plan.chunks.filter((c) => c.array === fc6);
    expect(parts.map((c) => [c.tree, c.bytes])).toEqual(Array.from({ length: 9 }, (_, s) => [s, 16_777_216]));
    // every small key (< 1e6 elements) is one message on server key mod 9
    const small = plan.chunks.filter((c) => alexnet[c.array].elements < 1_000_000);
    expect(small.every((c) => c.tree === c.array % 9 && c.elements === alexnet[c.array].elements)).toBe(true);
    expect(plan.pullPerKey).toBe(true);
    // the idealisation: the same parts cut into messages of at most 1e6 elements
    const chunked = starPlan(nine, nine, alexnet, { servers: 'all', chunk_elements: 1_000_000, bigarray_bound: 1_000_000, message: 'chunk', pull: 'pipelined' });
    expect(chunked.chunks.filter((c) => c.array === fc6).map((c) => c.elements)).toEqual(Array.from({ length: 9 }, () => [1e6, 1e6, 1e6, 1e6, 194_304]).flat());
    expect(chunked.pullPerKey).toBeUndefined();
  });

  it('pull per-key-blocking: a worker asks for key k+1 once key k arrived; the ask waits behind its pushes (timeline by hand)', () => {
    // server a (no worker), worker b, two 4 MB keys, 80 Mbit/s = 10 MB/s, compute 0.
    const blocking = simulate(chain(['a', 'b'], 80, [4, 4], ['b']), star({ pull: 'per-key-blocking' }));
    // pushes [0, 0.4] and [0.4, 0.8]; the ask for key 0 (8 bytes) follows them on b->a, arriving at 0.8000008;
    // key 0 comes down [0.8000008, 1.2000008]; the ask for key 1 arrives 1.2000016; key 1 down until 1.6000016.
    const ask = PULL_REQUEST_BYTES / 10e6;
    expect(rows(blocking)).toEqual([
      ['up', 'b', 'a', 0, 0, 0.4], ['up', 'b', 'a', 1, 0.4, 0.8],
      ['pull', 'b', 'a', 0, 0.8, +(0.8 + ask).toFixed(7)],
      ['down', 'a', 'b', 0, +(0.8 + ask).toFixed(7), +(1.2 + ask).toFixed(7)],
      ['pull', 'b', 'a', 1, +(1.2 + ask).toFixed(7), +(1.2 + 2 * ask).toFixed(7)],
      ['down', 'a', 'b', 1, +(1.2 + 2 * ask).toFixed(7), +(1.6 + 2 * ask).toFixed(7)],
    ]);
    expect(blocking.iterations[0].end).toBeCloseTo(1.6 + 2 * ask, 9);
    // pipelined: each key comes down as soon as it is summed: [0.4, 0.8] and [0.8, 1.2]
    const pipelined = simulate(chain(['a', 'b'], 80, [4, 4], ['b']), star({ pull: 'pipelined' }));
    expect(pipelined.iterations[0].end).toBeCloseTo(1.2, 9);
  });

  it('pull per-key-blocking with a worker on the server: its own keys too arrive in key order', () => {
    // servers a and b, workers a and b; two 2 MB keys (below bigarray_bound: whole), key 0 on a, key 1 on b ((1 x 9973) mod 2 = 1).
    // Pushes cross over [0, 0.2]. a holds key 0 at 0.2 (its own ask is local), then asks b for key 1: arrives 0.2000008.
    // b's ask for key 0 waited behind its push: arrives at a 0.2000008. Both keys come down from 0.2000008.
    const run = simulate(chain(['a', 'b'], 80, [2, 2], ['a', 'b']), star({ servers: 'all', pull: 'per-key-blocking' }));
    const ask = PULL_REQUEST_BYTES / 10e6;
    const downs = [...run.transfers].filter((t) => t.kind === 'down').map((t) => [t.from, t.to, t.chunk, +t.sentAt.toFixed(7)]).sort();
    expect(downs).toEqual([['a', 'b', 0, +(0.2 + ask).toFixed(7)], ['b', 'a', 1, +(0.2 + ask).toFixed(7)]]);
    const asks = [...run.transfers].filter((t) => t.kind === 'pull').map((t) => [t.from, t.to, t.chunk, +t.sentAt.toFixed(7)]).sort();
    expect(asks).toEqual([['a', 'b', 1, 0.2], ['b', 'a', 0, 0.2]]);
  });
});

describe('the relay underlay: agents forward whole messages between neighbours (store-and-forward)', () => {
  it('a 4 MB push over two 10 MB/s hops takes 0.4 s cut-through (ip) and 0.8 s relayed; the relay holds it whole', () => {
    const ip = simulate(chain(['a', 'b', 'c'], 80, [4], ['a', 'c']), star());
    expect(rows(ip)).toEqual([['up', 'c', 'a', 0, 0, 0.4], ['down', 'a', 'c', 0, 0.4, 0.8]]);
    const relay = simulate(chain(['a', 'b', 'c'], 80, [4], ['a', 'c'], 'relay'), star());
    expect(rows(relay)).toEqual([
      ['up', 'c', 'b', 0, 0, 0.4], ['up', 'b', 'a', 0, 0.4, 0.8],
      ['down', 'a', 'b', 0, 0.8, 1.2], ['down', 'b', 'c', 0, 1.2, 1.6],
    ]);
    expect(relay.iterations[0].end).toBeCloseTo(1.6, 9);
  });

  it('relays along the scheduler\'s cheapest path (1/throughput) when it has link costs, else the fewest-hop route', () => {
    // a ring a-b-c-d-a; a to c: fewest hops ties b and d (lower index b wins); costs make d cheaper
    const nodes = ['a', 'b', 'c', 'd'];
    const links = [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'a']].flatMap(([x, y]) => [{ from: x, to: y, delayS: 0 }, { from: y, to: x, delayS: 0 }]);
    const topology = Topology.fromSpecs(nodes, links);
    const base: Plan = { version: 1, trees: [starTree('a', nodes)], chunks: [] };
    return import('../../src/sync/relay.js').then(({ relayPath }) => {
      expect(relayPath(base, topology, 'a', 'c')).toEqual(['b', 'c']);
      const cost = topology.links.map((l) => (nodes[l.from] === 'b' || nodes[l.to] === 'b' ? 1 : 0.1));
      expect(relayPath({ ...base, linkCost: cost }, topology, 'a', 'c')).toEqual(['d', 'c']);
    });
  });
});

describe('NetStorm as its code does', () => {
  it('initial estimates: glibc srand(2), (rand() % 1000) / 10 MB/s per linked pair, the later visit\'s draw for both directions', () => {
    // glibc 2.36 rand() after srand(2): the first values, printed by a C program
    const glibc = new GlibcRand(2);
    expect(Array.from({ length: 5 }, () => glibc.next())).toEqual([1505335290, 1738766719, 190686788, 260874575, 747983061]);
    // the 9-DC mesh (dc1..dc9); row-major visits draw rand() % 1000 = 290, 719, 788, 575, 61, 498, 864, ...
    const dcs = Array.from({ length: 9 }, (_, i) => `dc${i + 1}`);
    const undirected = [[1, 2], [1, 3], [2, 3], [2, 5], [3, 4], [4, 5], [4, 6], [5, 7], [6, 7], [6, 8], [6, 9], [7, 8], [8, 9]];
    const topology = Topology.fromSpecs(dcs, undirected.flatMap(([x, y]) => [{ from: `dc${x}`, to: `dc${y}`, delayS: 0 }, { from: `dc${y}`, to: `dc${x}`, delayS: 0 }]));
    const est = vanInitialEstimates(topology);
    const of = (x: number, y: number) => est[topology.linkBetween(x - 1, y - 1)!];
    // pair (1,2): drawn at visit (1,2) = 29.0, then again at (2,1) = 78.8 MB/s -> 630.4 Mbit/s both ways
    expect(of(1, 2)).toBeCloseTo(78.8 * 8, 9);
    expect(of(2, 1)).toBeCloseTo(78.8 * 8, 9);
    // by hand from the draw sequence, MB/s
    const expected: Record<string, number> = {
      '1,3': 49.8, '2,3': 86.4, '2,5': 17.9, '3,4': 74.5, '4,5': 14.9, '4,6': 3.7, '5,7': 36.7, '6,7': 73.0, '6,8': 57.2, '6,9': 76.7, '7,8': 56.9, '8,9': 39.1,
    };
    for (const [pair, mbs] of Object.entries(expected)) {
      const [x, y] = pair.split(',').map(Number);
      expect(of(x, y), pair).toBeCloseTo(mbs * 8, 9);
      expect(of(y, x), pair).toBeCloseTo(mbs * 8, 9);
    }
  });

  it('root score on the links from the root out, not on the tree\'s links towards it', () => {
    // r -> x 10, x -> y 20; back 40, 40 Mbit/s
    const topology = Topology.fromSpecs(['r', 'x', 'y'], [
      { from: 'r', to: 'x', delayS: 0 }, { from: 'x', to: 'r', delayS: 0 }, { from: 'x', to: 'y', delayS: 0 }, { from: 'y', to: 'x', delayS: 0 },
    ]);
    const est = [10, 40, 20, 40];
    const cost = est.map((m) => 1 / m);
    expect(rootToLeafScore(topology, est, cost, 0, Uint8Array.from([1, 1, 1]))).toBeCloseTo(1 / 10 + 1 / 20, 12);
  });

  it('deal quota-round-robin: each root may take ceil(share x elements); chunks go round robin, skipping roots at quota', () => {
    const chunks: ChunkPlan[] = Array.from({ length: 8 }, (_, id) => ({ id, array: 0, offset: id, elements: 1, bytes: 4, tree: 0 }));
    // weights 2:1:1 of 8 elements: quotas 4, 2, 2
    expect(dealQuotaRoundRobin(chunks, [2, 1, 1]).map((c) => c.tree)).toEqual([0, 1, 2, 0, 1, 2, 0, 0]);
    // the idealisation, each to the root furthest below its share
    expect(dealChunks(chunks, [2, 1, 1]).map((c) => c.tree)).toEqual([0, 1, 2, 0, 0, 1, 2, 0]);
  });

  it('a report is total bytes over total time of its window (the van), not the mean of rates', () => {
    // 4 MB in 1 s and 4 MB in 3 s: 8 MB / 4 s = 16 Mbit/s; the mean of 32 and 10.67 is 21.33
    expect(aggregateRate([4e6, 1, 4e6, 3], 'bytes-over-time')).toBeCloseTo(16, 12);
    expect(aggregateRate([4e6, 1, 4e6, 3], 'mean-rate')).toBeCloseTo((32 + 32 / 3) / 2, 12);
  });

  it('multipath triggers on waiting messages: main queue waiting > 2, auxiliary first hop waiting < 1', () => {
    // a -> b direct, or a -> c -> b; worker a pushes five 1 MB chunks to root b at once.
    // all: chunk 3 sees 3 queued (> 2) and c idle -> detour; chunk 4 sees c busy -> direct.
    // waiting: chunk 3 sees 2 waiting (not > 2); chunk 4 sees 3 waiting and c idle -> detour.
    const nodes = ['a', 'b', 'c'];
    const scenario = chain(nodes, 80, [1, 1, 1, 1, 1], ['a']);
    const extra = [['a', 'c'], ['c', 'a']].map(([from, to], k) => ({ ...scenario.links[0], id: scenario.links.length + k, from, to, name: `${from}->${to}` }));
    scenario.links = [...scenario.links, ...extra];
    const policy = (countWaitingOnly: boolean): Policy => {
      const plan: Plan = {
        version: 1, trees: [starTree('b', ['a'])],
        chunks: Array.from({ length: 5 }, (_, id) => ({ id, array: id, offset: 0, elements: 250_000, bytes: 1e6, tree: 0 })),
        linkCost: scenario.links.map(() => 1),
        multipath: { mainQueueAbove: 2, auxQueueBelow: 1, countWaitingOnly, maxPaths: Infinity },
      };
      return { currentPlan: () => plan };
    };
    const detoured = (countWaitingOnly: boolean) =>
      [...simulate(scenario, star(), { policy: policy(countWaitingOnly) }).transfers].filter((t) => t.aux && t.from === 'a').map((t) => t.chunk);
    expect(detoured(false)).toEqual([3]);
    expect(detoured(true)).toEqual([4]);
  });

  it('barrier: an iteration\'s plan reaches the agents only once every worker asked for it', () => {
    // servers a and b; two 2 MB keys, key 0 on a, key 1 on b; a -> b 80 (0.2 s a key), b -> a 40 Mbit/s (0.4 s); compute 0.1 s.
    // Iteration 0: a's push [0.1, 0.3], b's [0.1, 0.5]; key 0 comes down a -> b [0.5, 0.7]; key 1 b -> a behind b's push, [0.5, 0.9].
    // b starts iteration 1 at 0.7 and its gradient is ready at 0.8: without the barrier it hands its push over then;
    // with it, only once a asked for iteration 1's plan, at 0.9.
    const scenario = chain(['a', 'b'], (from) => (from === 'a' ? 80 : 40), [2, 2], ['a', 'b'], 'ip', 0.1, 2);
    const plan = starPlan(['a', 'b'], ['a', 'b'], scenario.workload.arrays, { servers: 'all', chunk_elements: 1e6, bigarray_bound: 1e6, message: 'key-part', pull: 'pipelined' });
    const handOver = (barrier: boolean) => [...simulate(scenario, star(), { policy: { currentPlan: () => plan, barrier } }).transfers]
      .find((t) => t.iteration === 1 && t.from === 'b' && t.kind === 'up')!.enqueuedAt;
    expect(handOver(false)).toBeCloseTo(0.8, 9);
    expect(handOver(true)).toBeCloseTo(0.9, 9);
  });
});

describe('TSEngine as its code does', () => {
  const options = (extra: Partial<TsengineOptions> = {}): TsengineOptions => ({
    chunk_elements: 1e6, max_greedy_rate: 0.9, forget_after_iterations: 5, measure_threshold_mb: 4,
    granularity: 'key', tie: 'later-sends', greedy_rate: 'integer-division', metric: 'inverse-seconds', levels: 1, ...extra,
  });
  const context = { topology: Topology.fromSpecs(['s', 'x', 'y', 'z'], []), nodes: ['s', 'x', 'y', 'z'], workers: ['x', 'y', 'z'], dataCenters: oneWorkerEach(['s', 'x', 'y', 'z'], ['x', 'y', 'z']), arrays: [{ name: 'k', elements: 3e6 }], bytesPerElement: 4, now: 0 };

  it('whole-key messages (one server: ps-lite\'s slicer leaves a key whole), chunks as the idealisation', () => {
    expect(tsenginePolicy(options(), 1).currentPlan(context).chunks.map((c) => c.elements)).toEqual([3e6]);
    expect(tsenginePolicy(options({ granularity: 'chunk' }), 1).currentPlan(context).chunks.map((c) => c.elements)).toEqual([1e6, 1e6, 1e6]);
  });

  it('push pairing: on a tie (here both unknown) the later node sends (A[a][b] > A[b][a] else b)', () => {
    for (const [tie, sender] of [['later-sends', 'z'], ['earlier-sends', 'y']] as const) {
      const p = tsenginePolicy(options({ tie }), 1);
      p.currentPlan(context);
      expect(p.online!.ready('x', 0, 0)).toEqual([{ node: 'x', iteration: 0, chunk: 0, kind: 'up', to: 's' }]); // the server never sends
      expect(p.online!.ready('y', 0, 0)).toEqual([]);
      expect(p.online!.ready('z', 0, 0).map((c) => c.node)).toEqual([sender]);
    }
  });

  it('greedy probability: integer division makes it 0.1 while any unserved node is unknown, then 1.0', () => {
    expect(greedyProbability('integer-division', 0, 3, 0.9)).toBeCloseTo(0.1, 12);
    expect(greedyProbability('integer-division', 2, 3, 0.9)).toBeCloseTo(0.1, 12);
    expect(greedyProbability('integer-division', 3, 3, 0.9)).toBe(1);
    expect(greedyProbability('integer-division', 3, 3, 0.5)).toBeCloseTo(0.6, 12); // rand() % 10 <= 5
    expect(greedyProbability('ratio', 2, 3, 0.9)).toBeCloseTo(2 / 3, 12);
    expect(greedyProbability('ratio', 3, 3, 0.9)).toBeCloseTo(0.9, 12);
  });

  it('metric inverse-seconds: (int)(1 / seconds) of each final-value send, pulls only', () => {
    // server a, workers b and c on a chain a-b-c at 80 Mbit/s; one 4 MB key: a final-value hop takes 0.4 s -> 2
    const scenario = chain(['a', 'b', 'c'], 80, [4], ['b', 'c'], 'ip', 0, 2);
    const seen: Measurement[] = [];
    const inner = tsenginePolicy(options({ server: 'a' }), 1);
    const policy: Policy = { ...inner, observe: (m) => { seen.push(m); inner.observe!(m); } };
    const run = simulate(scenario, { name: 'tsengine', label: 'tsengine', ...options({ server: 'a' }) } as SchedulerConfig, { policy });
    const downs = [...run.transfers].filter((t) => t.kind === 'down');
    expect(seen).toHaveLength(downs.length);
    for (const [k, m] of seen.entries()) expect(m.mbps).toBe(Math.trunc(1 / (downs[k].deliveredAt - downs[k].enqueuedAt)));
    expect(seen.every((m) => Number.isInteger(m.mbps))).toBe(true);
  });
});

describe('the paper\'s link redraws (klonet_net_dynamic.py): Python 2 random.seed(1), randint(20, 155) for 26 links every 180 s', () => {
  it('replays Python\'s Mersenne Twister exactly', () => {
    // python3 -c "import random; random.seed(1); print([random.random() for _ in range(3)])"
    const py = new PythonRandom(1);
    expect([py.random(), py.random(), py.random()]).toEqual([0.13436424411240122, 0.8474337369372327, 0.763774618976614]);
    // Python 2.7's randint(20, 155) = 20 + int(random() * 136): the first period's draws
    const draws = new PythonRandom(1);
    expect(Array.from({ length: 8 }, () => draws.randint(20, 155))).toEqual([38, 135, 123, 54, 87, 81, 108, 127]);
  });

  it('the redraw-randint generator gives link `draw` its draw of every period', () => {
    const spec = { generator: 'redraw-randint' as const, min_mbps: 20, max_mbps: 155, period_s: 180, seed: 1, draws_per_period: 26, draw: 2 };
    const trace = generateTrace(spec, 99, 'ignored');
    expect(trace.rateAt(0)).toBe(123);
    expect(trace.rateAt(179.9)).toBe(123);
    // period 1, draw 2 = the 29th draw overall (Python: [20 + int(random.random() * 136) for _ in range(30)][28])
    expect(trace.rateAt(180)).toBe(79);
  });
});
