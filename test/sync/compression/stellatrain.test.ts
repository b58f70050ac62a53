/**
 * StellaTrain as its engine runs (github kaist-ina/stellatrain):
 * thresholdv16's selection worked by hand (compress/thresholdv16.cpp),
 * its budget per node (modules/compress.cpp), the sparse ring all-gather
 * (modules/grad_exchange.cpp), staleness 1 (engine/core.cpp), and real
 * training through the sparse CPU optimizer.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/scenario/load.js';
import { simulate } from '../../../src/run/simulate.js';
import { ScenarioError } from '../../../src/scenario/errors.js';
import { thresholdv16Select, type ThresholdState } from '../../../src/sync/compression/thresholdv16.js';
import { codecBytes, decode, encode, stellatrainK, type CodecState } from '../../../src/sync/compression/codecs.js';
import { trainEach } from '../training-runs.js';
import { adaptiveCr, estimateTxBytes, stellatrainPolicy } from '../../../src/sync/schedulers/stellatrain.js';
import { stellatrainSpec } from '../../../src/sync/schedulers/stellatrain.js';
import type { PolicyContext } from '../../../src/sync/policy.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('thresholdv16 (ThresholdvCompressor16::impl_simd_v2)', () => {
  it('first call: the threshold is the block score at floor(K/16) in descending order; whole blocks >= it in index order, then the first K - taken of the next; full: threshold + 1% of the first', () => {
    // blocks of 16: 16 ones (score 16), 16 halves (8), and a tail of 8 twos (scored 16 x 16 / 8 = 32)
    const x = Float32Array.from([...new Array(16).fill(1), ...new Array(16).fill(0.5), ...new Array(8).fill(2)]);
    const state: ThresholdState = {};
    const taken = thresholdv16Select(x, 20, state); // scores 32, 16, 8: position floor(20/16) = 1 -> 16
    expect(Array.from(taken)).toEqual([...range(0, 16), 32, 33, 34, 35]);
    expect(state.threshold).toBe(Math.fround(16 + Math.fround(0.16)));
    expect(state.increment).toBe(Math.fround(0.16));
  });

  it('not full: threshold x 0.99, and the best rejected blocks fill it; a last partial block is scored by its signed sum, as coded', () => {
    const state: ThresholdState = { threshold: Math.fround(16.16), increment: Math.fround(0.16) };
    // 0.1s (1.6), 0.2s (3.2), and a tail of eight -1 (signed sum -8: scored -16, last)
    const x = Float32Array.from([...new Array(16).fill(0.1), ...new Array(16).fill(0.2), ...new Array(8).fill(-1)]);
    const taken = thresholdv16Select(x, 20, state);
    expect(Array.from(taken)).toEqual([...range(16, 32), 0, 1, 2, 3]);
    expect(state.threshold).toBe(Math.fround(Math.fround(16.16) * 0.99));
  });

  it('the codec: K values and uint16 indices below 65,536 elements (uint32 above), the gradient plus the residual, what is not sent stays', () => {
    const n = 64;
    const g = Float32Array.from(range(0, n).map((i) => (i < 16 ? 1 : 0.01)));
    const codec = { kind: 'thresholdv16' as const, cr: 0.5, nodes: 2 }; // K = floor(64 x 0.25) = 16
    expect(stellatrainK(n, 0.5, 2)).toBe(16);
    expect(codecBytes(codec, n)).toBe(16 * 6);
    expect(codecBytes(codec, 70_000)).toBe(stellatrainK(70_000, 0.5, 2) * 8);
    const state: CodecState = {};
    const { packed, decoded } = encode(codec, g, state);
    expect(packed.byteLength).toBe(96);
    expect(Array.from(new Uint16Array(packed.buffer, 64, 16))).toEqual(range(0, 16));
    expect(Array.from(decode(codec, packed, n))).toEqual(Array.from(decoded));
    for (let i = 0; i < n; i++) expect(decoded[i] + state.residual![i]).toBe(g[i]);
    // next call: the residual joins the new gradient
    const again = encode(codec, new Float32Array(n), state);
    expect(Array.from(again.decoded).reduce((a, v) => a + v, 0) + Array.from(state.residual!).reduce((a, v) => a + v, 0)).toBeCloseTo(48 * 0.01, 5);
  });

  it('the budget per node in float arithmetic: max(1, N (1 - cr) / W)', () => {
    // (1 - 0.99f) is 0.0099999905 in float: 1e6 x 0.0049999952 = 4999.995, truncated, not 5000
    expect(stellatrainK(1_000_000, 0.99, 2)).toBe(4999);
    expect(stellatrainK(1_000_000, 0.95, 2)).toBe(25_000);
    expect(stellatrainK(10, 0.99, 9)).toBe(1);
    expect(stellatrainK(203_530 - 2570, 0.99, 4)).toBe(Math.trunc(Math.fround(Math.fround(200_960) * Math.fround(Math.fround(1 - Math.fround(0.99)) / 4))));
  });
});

function scenario(scheduler: string, workers = 1) {
  const s = parseScenario([
    'name: st', 'seed: 3', 'iterations: 4', 'nodes: [a, b, c]',
    `node_defaults: { workers: ${workers}, lan: { bandwidth: 1000, delay_ms: 0.05 } }`,
    'links:', '  - between: [a, b]', '  - between: [b, c]', '  - between: [c, a]',
    'link_defaults: { bandwidth: 100, delay_ms: 5 }',
    'workload: { gradient_mb: 0.4, compute_ms: 50 }',
    `schedulers: [${scheduler}]`,
  ].join('\n'), 'st.yaml');
  s.workload.arrays = [{ name: 'small', elements: 1000 }, { name: 'large', elements: 99_000 }];
  return s;
}

describe('the sparse ring all-gather (ModuleGradExchange::run)', () => {
  it('W - 1 steps: each node sends its chunk to the next, which passes it on; every node ends with all W chunks, the same at every node', () => {
    const s = scenario('stellatrain');
    const run = simulate(s, s.schedulers[0], { values: true });
    const it1 = [...run.transfers].filter((t) => t.iteration === 1);
    // per array, 3 chunks x 2 hops, only to the next node on the ring a -> b -> c -> a
    expect(it1).toHaveLength(2 * 3 * 2);
    for (const t of it1) expect(`${t.from}>${t.to}`).toMatch(/^(a>b|b>c|c>a)$/);
    // K = N (1 - 0.99f) / 3 in float, truncated: 3 and 329 (not 330); uint16 indices below 65,536 elements, uint32 above
    const sizes = it1.map((t) => t.bytes).sort((x, y) => x - y);
    expect(sizes).toEqual([...new Array(6).fill(3 * 6), ...new Array(6).fill(329 * 8)]);
    const finals = [...run.workers.values()].map((w) => [...w.finals].sort((x, y) => x[0] - y[0]).map(([chunk, f]) => `${chunk}:${Array.from(f.values!)}`));
    expect(finals[0]).toHaveLength(6);
    expect(finals[1]).toEqual(finals[0]);
    expect(finals[2]).toEqual(finals[0]);
  });

  it('with two workers per data center: they push dense over the LAN, their node selects from the sum and passes every chunk to them', () => {
    const s = scenario('stellatrain', 2);
    const run = simulate(s, s.schedulers[0], { values: true });
    const it1 = [...run.transfers].filter((t) => t.iteration === 1);
    const lanUp = it1.filter((t) => t.kind === 'up');
    expect(lanUp.map((t) => `${t.from}>${t.to} ${t.bytes}`).sort()).toEqual(
      ['a', 'b', 'c'].flatMap((dc) => [0, 1].flatMap((w) => [`${dc}.w${w}>${dc} 4000`, `${dc}.w${w}>${dc} 396000`])).sort(),
    );
    // each node hands its workers all three chunks of each array (its own and the two it received)
    expect(it1.filter((t) => t.kind === 'down' && t.to === 'b.w0')).toHaveLength(6);
    expect(it1.filter((t) => t.kind === 'down' && t.from.length === 1 && t.to.length === 1)).toHaveLength(12);
  });

  it('staleness 1: iteration i + 1 computes from the moment i\'s gradient is ready, overlapping i\'s exchange, never before i - 1 ended', () => {
    const s = scenario('stellatrain');
    s.workload.arrays = [{ name: 'large', elements: 4_000_000 }]; // selections of 13,333 entries: about 9 ms a hop at 100 Mbit/s, two hops
    const run = simulate(s, s.schedulers[0]);
    const [i0, i1, i2] = run.iterations;
    expect(i1.start).toBeCloseTo(0.05, 9); // right after iteration 0's gradient
    expect(i1.start).toBeLessThan(i0.end);
    expect(i2.start).toBeGreaterThanOrEqual(i0.end);
    expect(i2.start).toBeGreaterThanOrEqual(i1.start + 0.05);
  });

  it('each sender\'s queue sends the smallest iteration x 1000 + array first (PRIORITY_TX): a chunk passed on jumps ahead of the node\'s own later arrays', () => {
    // cr 0: each selection a third of its 200,000 elements, 533 kB, 43 ms at 100 Mbit/s (the links' delay is 5 ms)
    const s = scenario('{ name: stellatrain, compression: { thresholdv16: { cr: 0 } } }');
    s.workload.arrays = Array.from({ length: 4 }, (_, k) => ({ name: `l${k}`, elements: 200_000 }));
    const run = simulate(s, s.schedulers[0]);
    // b's messages to c in iteration 0, in the order they left: a's array 0 arrives (48 ms) while b's array 1 is on
    // the wire and goes next; a's array 1, in by then, goes before b's array 2 (FIFO: b0 b1 b2 b3 a0 a1)
    const sent = [...run.transfers].filter((t) => t.iteration === 0 && t.from === 'b').sort((x, y) => x.sentAt - y.sentAt);
    expect(sent.slice(0, 5).map((t) => `${['a', 'b', 'c'][Math.floor(t.chunk / 4)]}${t.chunk % 4}`)).toEqual(['b0', 'b1', 'a0', 'a1', 'b2']);
  });

  it('refusals: another compression method, or thresholdv16 elsewhere; a ring missing a data center', () => {
    expect(() => scenario('{ name: stellatrain, compression: topk }')).toThrow(/thresholdv16 \(its topk.cpp/);
    expect(() => scenario('{ name: stellatrain, compression: fp16 }')).toThrow(/FP16_COMPRESSION 0/);
    expect(() => scenario('{ name: hips, compression: thresholdv16 }')).toThrow(/thresholdv16 is StellaTrain's/);
    expect(() => scenario('{ name: stellatrain, compression: { thresholdv16: { cr: 1 } } }')).toThrow(/cr: less than 1/);
    expect(() => scenario('{ name: stellatrain, order: [a, b] }')).toThrow(ScenarioError);
  });
});

describe('the adaptive compression ratio, as the paper describes it (batch_rate_alloc_optim.py; not wired in the public code)', () => {
  it('its byte model: 47 bytes of ZMQ message + K (index + value), K = max(1, ceil((1 - cr) N)) in double arithmetic, 66 bytes per 1,472-byte segment', () => {
    // (1 - 0.99) x 1000 = 10.000000000000009 in double: K = 11
    expect(estimateTxBytes([1000], 0.99)).toBe(47 + 6 * 11 + 2 * 66);
    expect(estimateTxBytes([1_000_000], 0)).toBe(47 + 8e6 + Math.ceil((47 + 8e6 + 1471) / 1472) * 66);
  });

  it('the smallest cr whose bytes fit the rate within 1.5 compute times (the search\'s low end), then spread over W - 1 chunks', () => {
    const dense = (estimateTxBytes([1_000_000], 0) * 8) / (1.5 * 100 * 1000); // 445.8 Mbit/s
    expect(adaptiveCr([1_000_000], dense * 2, 100, 2)).toBe(0);
    const at90 = (estimateTxBytes([1_000_000], 0.9) * 8) / (1.5 * 100 * 1000);
    const cr = adaptiveCr([1_000_000], at90, 100, 2);
    expect(cr).toBeGreaterThan(0.899);
    expect(cr).toBeLessThanOrEqual(0.9);
    expect(adaptiveCr([1_000_000], at90, 100, 3)).toBeCloseTo(1 - (1 - cr) / 2, 12);
  });

  it('decides from the WAN\'s measured receive rate (its EWMA, the slowest receiver) every 5 iterations, applied 3 iterations later', () => {
    const options = stellatrainSpec.parse({ name: 'stellatrain', compression: { thresholdv16: { cr: 0.5 } }, adaptive_cr: {} });
    const policy = stellatrainPolicy(options, 0.1);
    const dataCenters = ['a', 'b'].map((name) => ({ name, workers: [name], computeS: null }));
    const ctx = (iteration: number) => ({ dataCenters, arrays: [{ name: 'w', elements: 1_000_000 }], bytesPerElement: 4, iteration }) as unknown as PolicyContext;
    const cr = (iteration: number) => policy.currentPlan(ctx(iteration)).chunks[0].codecs!.wan.up as { cr: number };
    expect(cr(0).cr).toBe(0.5);
    expect(policy.currentPlan(ctx(0)).measure).toBeDefined();
    policy.observe!({ from: 'a.w0', to: 'a', mbps: 1, at: 0, iteration: 0 }); // (a LAN: not counted)
    policy.observe!({ from: 'a', to: 'b', mbps: 100, at: 0, iteration: 0 });
    policy.observe!({ from: 'b', to: 'a', mbps: 50, at: 0, iteration: 0 });
    policy.observe!({ from: 'b', to: 'a', mbps: 40, at: 0, iteration: 0 }); // EWMA at a: 0.9 x 40 + 0.1 x 50 = 41
    const expected = adaptiveCr([1_000_000], 41, 100, 2);
    expect(cr(1).cr).toBe(0.5); // decided now, applies at iteration 4
    expect(cr(3).cr).toBe(0.5);
    expect(cr(4).cr).toBe(expected);
    expect(policy.currentPlan(ctx(4)).version).toBe(2);
  });
});

describe('StellaTrain with real training (simulated)', () => {
  it('every worker adds the same chunks in the same order and steps the sparse optimizer the same way; with cr 0 it learns, with 0.99 more slowly', async () => {
    const s = parseScenario([
      'name: st-train', 'seed: 3', 'iterations: 40', 'nodes: [a, b, c]', 'node_defaults: { workers: 2 }',
      'links:', '  - between: [a, b]', '  - between: [b, c]', '  - between: [c, a]', 'link_defaults: { bandwidth: 50 }',
      'workload: { train: { model: mlp, dataset: mnist, eval_every: 10, learning_rate: 0.002 }, compute_ms: 10 }',
      'schedulers: [{ name: stellatrain, label: st-0, compression: { thresholdv16: { cr: 0 } } }, { name: stellatrain, label: st-99 }]',
    ].join('\n'), 'st-train.yaml');
    // (a run fails if workers' weights differ after a step: the training record checks every checksum)
    const { runs: [dense, sparse], reported, data } = await trainEach(s);
    expect(reported.filter((r) => r.run === 0)).toHaveLength(6 * 40);
    const evaluator = data.makeTrainer(null, 'eval');
    const accuracy = (run: typeof dense) => {
      evaluator.setWeights(run.training!.snapshots.at(-1)!.weights);
      return evaluator.evaluate(data.test).accuracy;
    };
    try {
      const [a0, a99] = [accuracy(dense), accuracy(sparse)];
      expect(a0).toBeGreaterThan(0.8);
      expect(a99).toBeGreaterThan(0.2);
      expect(a99).toBeLessThan(a0);
    } finally {
      evaluator.dispose();
    }
  }, 120_000);
});
