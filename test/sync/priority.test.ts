/**
 * Sending what matters first (issue 28, item 3): GeoMX's P3 (ENABLE_P3:
 * src/kvstore/kvstore_dist.h P3_EncodeDefaultKey and PushDefault's P3
 * branch; 3rdparty/ps-lite kv_app.h KVWorker::P3_ZPush, van.cc
 * PushToSenderQueue) and DGT (kv_app.h KVServer::Send's DGT branch,
 * EvalMsgContribution, GetChannel; van.cc Unimportant_scheduler,
 * ProcessDataMsg), on the simulator's connections.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import type { WireRecord } from '../../src/net/sim/network.js';
import { classifyBlocks, dgtMessages, type DgtState } from '../../src/sync/dgt.js';
import { layerShares } from '../../src/sync/layers.js';
import { hipsPlan, hipsSpec } from '../../src/sync/schedulers/hips.js';
import { expectPlainSums } from '../plain-sums.js';
import { trainEach } from './training-runs.js';
import { runScenario } from '../../src/run/run.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { useTempDir } from '../helpers.js';

const DGT = { blockBytes: 16, k: 0.5, alpha: 0.3, blocksPerMessage: 64 };

/** A 3-DC, 2-workers-per-DC scenario whose model has the given arrays (input side first). */
function scenario(schedulers: unknown[], extra: Record<string, unknown> = {}, arrays = [1_500_000, 2_500_000, 3_000_000, 500_000], computeMs = 400) {
  const parsed = parseScenario(stringify({
    name: 'priority', seed: 1, iterations: 4,
    nodes: ['dc1', 'dc2', 'dc3'], node_defaults: { workers: 2, lan: { bandwidth: 400 } },
    link_defaults: { bandwidth: 50, delay_ms: 5 },
    links: [{ between: ['dc1', 'dc2'] }, { between: ['dc2', 'dc3'] }, { between: ['dc1', 'dc3'] }],
    workload: { gradient_mb: 1, compute_ms: computeMs },
    schedulers, ...extra,
  }), 'priority.yaml');
  const modelArrays = arrays.map((elements, i) => ({ name: `a${i}`, elements }));
  return { ...parsed, workload: { ...parsed.workload, arrays: modelArrays, totalBytes: 4 * arrays.reduce((a, b) => a + b, 0) } };
}

describe('DGT blocks (KVServer::Send, EvalMsgContribution, GetChannel)', () => {
  it('c <- 0.3 c + 0.7 mean|g| per block; zero blocks are not sent but the last; the round(k m) highest of the rest are important, and the last block', () => {
    // 4 elements per 16-byte block: blocks of mean |g| 1, 0, 3, 2, 0.5 (the last)
    const g = Float32Array.from([1, -1, 1, -1, 0, 0, 0, 0, 3, 3, -3, 3, 2, 2, 2, 2, 0.5, 0.5]);
    const state: DgtState = {};
    const classes = classifyBlocks(g.length, 4, g, state, DGT);
    // sent: blocks 0, 2, 3 and the last (m = 4): round(0.5 x 4) = 2 important, the two highest (2 and 3); block 1 is zero
    expect(classes).toEqual(['unimportant', 'skipped', 'important', 'important', 'important']);
    expect(Array.from(state.contributions!)).toEqual([0.7, 0, 2.1, 1.4, 0.35].map(Math.fround));
    // next round: the history counts (c = 0.3 c + 0.7 mean|g|): block 0 now outranks block 3
    const h = Float32Array.from([4, 4, 4, 4, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0, 1, 1]);
    expect(classifyBlocks(h.length, 4, h, state, DGT)).toEqual(['important', 'skipped', 'important', 'unimportant', 'important']);
    expect(state.contributions![3]).toBe(Math.fround(Math.fround(Math.fround(0.3) * Math.fround(1.4)) + 0));
  });

  it('messages: runs of one class in index order, at most blocks_per_message blocks, the short last block with its bytes', () => {
    const g = Float32Array.from([5, 5, 5, 5, 4, 4, 4, 4, 1, 1, 1, 1, 3, 3, 3, 3, 2, 2]);
    // m = 5 sent, round(0.5 x 5) = 3 important: blocks 0, 1, 3; 2 unimportant; 4 the last
    const messages = dgtMessages(g.length, 4, g, {}, { ...DGT, blocksPerMessage: 2 });
    expect(messages.map((m) => [m.firstBlock, m.blocks, m.bytes, m.important, m.last])).toEqual([
      [0, 2, 32, true, false], [2, 1, 16, false, false], [3, 2, 16 + 8, true, true],
    ]);
  });

  it('blocks without values (synthetic; padding) are never zero and take their share of the important places in index order', () => {
    // 10 blocks, values for the first 2 only: m = 10, round(0.5 x 10) = 5 important of 9: 2 x 5 / 9 -> 1 by score, 4 unscored in index order
    const classes = classifyBlocks(40, 4, Float32Array.from([1, 1, 1, 1, 2, 2, 2, 2]), {}, DGT);
    expect(classes).toEqual(['unimportant', 'important', 'important', 'important', 'important', 'important', 'unimportant', 'unimportant', 'unimportant', 'important']);
  });
});

/** Each connection's messages, in the order they went on the wire. */
function byConnection(records: WireRecord[]): Map<string, WireRecord[]> {
  const out = new Map<string, WireRecord[]>();
  for (const r of records) {
    const key = `${r.from}>${r.to}`;
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push(r);
  }
  return out;
}

describe('DGT on the wire (van.cc Unimportant_scheduler, ProcessDataMsg)', () => {
  it('no unimportant block leaves while an important one waits on the connection, and some do wait', () => {
    const s = scenario([{ name: 'hips', dgt: { block_kb: 64, k: 0.5, blocks_per_message: 4 } }]);
    const records: WireRecord[] = [];
    simulate(s, s.schedulers[0], { wireLog: records });
    let overtaken = 0;
    for (const list of byConnection(records).values()) {
      if (!list.some((r) => r.priority === 1)) continue;
      for (const u of list.filter((r) => (r.priority ?? 0) === 0 && r.wireBytes > 100)) {
        // every important message handed over before this one left went first
        for (const p of list.filter((r) => r.priority === 1 && r.enqueuedAt < u.start)) expect(p.start).toBeLessThanOrEqual(u.start);
        overtaken += list.filter((r) => r.priority === 1 && r.enqueuedAt > u.enqueuedAt && r.start < u.start).length;
      }
    }
    expect(overtaken).toBeGreaterThan(0);
  });

  it('k: 1 sends every block as important before the last: nothing late, every worker the plain sum', () => {
    const s = scenario([{ name: 'hips', dgt: { block_kb: 4, k: 1 } }]);
    expectPlainSums(s, simulate(s, s.schedulers[0], { values: true }));
  });

  it('bytes: the dense bytes (no zero blocks when values are unknown), a late block counted in the round it joins; the pushes across data centers as blocks', () => {
    const s = scenario([{ name: 'hips' }, { name: 'hips', label: 'dgt', dgt: {} }]);
    const [plain, dgt] = s.schedulers.map((c) => simulate(s, c));
    const bytes = (run: typeof plain) => run.iterations.map((i) => i.bytes);
    // every round sends what HiPS does; the first one's late blocks count in the second, and so on (the last round's arrive after the run)
    expect(bytes(dgt).slice(1)).toEqual(bytes(plain).slice(1));
    expect(bytes(dgt)[0]).toBeLessThan(bytes(plain)[0]);
    const wanUps = (run: typeof plain) => [...run.transfers].filter((t) => t.kind === 'up' && t.from.split('.')[0] !== t.to.split('.')[0]);
    // 7.5 M elements = 30 MB in 4 KiB blocks, 64 to a message at most: per data center and iteration at least ceil(7,324.3 / 64) messages
    expect(wanUps(dgt).length).toBeGreaterThan(wanUps(plain).length * 20);
  });

  it('a block late for its round adds into the next round at the global server', () => {
    // values mode: the synthetic contribution sits in block 0 of each chunk; with k tiny block 0 is unimportant and goes after the last block
    const s = scenario([{ name: 'hips', dgt: { block_kb: 4, k: 0.01, blocks_per_message: 1 } }], { iterations: 3 });
    const run = simulate(s, s.schedulers[0], { values: true });
    const w = run.workers.get('dc1.w0')!;
    // some chunk of the last iteration misses a data center's block 0, or holds two rounds of it: not the plain sum
    expect(w.mismatches.length).toBeGreaterThan(0);
    // what every data center pushed over the run reached the global server, round after round: sums stay whole numbers
    for (const [, final] of w.finals) for (const v of final.values!) expect(Number.isInteger(v)).toBe(true);
  });
});

describe('P3 (ENABLE_P3)', () => {
  it('slices of 1,000,000 elements, each its own key; a worker pushes a lower layer\'s slices before a higher one\'s when both wait', () => {
    const s = scenario([{ name: 'hips', priority: 'p3' }]);
    const plan = hipsPlan(s.dataCenters, s.workload.arrays, hipsSpec.parse({ name: 'hips', priority: 'p3' }));
    expect(plan.chunks.map((c) => [c.array, c.offset, c.elements, c.key])).toEqual([
      [0, 0, 1e6, 0], [0, 1e6, 5e5, 1], [1, 0, 1e6, 2], [1, 1e6, 1e6, 3], [1, 2e6, 5e5, 4], [2, 0, 1e6, 5], [2, 1e6, 1e6, 6], [2, 2e6, 1e6, 7], [3, 0, 5e5, 8],
    ]);
    const records: WireRecord[] = [];
    const run = simulate(s, s.schedulers[0], { wireLog: records });
    const ups = [...run.transfers].filter((t) => t.kind === 'up' && t.from.includes('.w'));
    let reordered = 0;
    for (const a of ups) {
      for (const b of ups) {
        if (a.from !== b.from || a.iteration !== b.iteration || plan.chunks[a.chunk].array >= plan.chunks[b.chunk].array) continue;
        // both waiting: the lower array's slice leaves first
        if (a.enqueuedAt < b.sentAt) expect(a.sentAt).toBeLessThanOrEqual(b.sentAt);
        if (a.enqueuedAt > b.enqueuedAt && a.sentAt < b.sentAt) reordered++;
      }
    }
    expect(reordered).toBeGreaterThan(0);
    // the acknowledgement carries the slice: no pull request and no empty ack within a data center
    expect([...run.transfers].filter((t) => (t.kind === 'pull' || t.kind === 'ack') && t.from.split('.')[0] === t.to.split('.')[0])).toEqual([]);
    // across data centers the local server still pulls each slice after its acknowledgement
    expect([...run.transfers].filter((t) => t.kind === 'pull').length).toBe(2 * plan.chunks.length * s.iterations);
  });

  it('the next forward pass of a layer waits for its slices: a worker\'s first push of iteration i + 1 follows the last array\'s final of iteration i by that array\'s forward and backward time', () => {
    const s = scenario([{ name: 'hips', priority: 'p3' }]);
    const run = simulate(s, s.schedulers[0]);
    const shares = layerShares(s.workload.arrays);
    const last = s.workload.arrays.length - 1;
    const plan = hipsPlan(s.dataCenters, s.workload.arrays, hipsSpec.parse({ name: 'hips', priority: 'p3' }));
    const transfers = [...run.transfers];
    let overlapped = 0;
    for (const worker of s.workers) {
      for (let i = 0; i + 1 < s.iterations; i++) {
        const finals = transfers.filter((t) => t.to === worker && t.kind === 'down' && t.iteration === i);
        const lastFinal = Math.max(...finals.filter((t) => plan.chunks[t.chunk].array === last).map((t) => t.deliveredAt));
        const firstPush = Math.min(...transfers.filter((t) => t.from === worker && t.kind === 'up' && t.iteration === i + 1).map((t) => t.enqueuedAt));
        expect(firstPush).toBeGreaterThanOrEqual(lastFinal + (shares.forward[last] + shares.backward[last]) * 0.4 - 1e-9);
        // not a whole compute after the iteration's last final: the forward pass began with the first layers back
        if (firstPush < Math.max(...finals.map((t) => t.deliveredAt)) + 0.4 - 1e-6) overlapped++;
      }
    }
    expect(overlapped).toBeGreaterThan(0);
  });

  it('overlaps the next iteration\'s compute with the exchange: faster than HiPS when compute is long, the same plain sums', () => {
    const s = scenario([{ name: 'hips' }, { name: 'hips', label: 'p3', priority: 'p3' }], {}, [2_000_000, 500_000], 3000);
    const [plain, p3] = s.schedulers.map((c) => simulate(s, c, { values: true }));
    expect(p3.endTime).toBeLessThan(plain.endTime * 0.95);
    expectPlainSums(s, p3);
  });

  it('refusals: with compression, more than one global server, sync other than fsa, DGT at once; p3 options without p3', () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'hips', priority: 'p3', compression: 'fp16' }, /p3 pushes dense fp32 slices/],
      [{ name: 'hips', dgt: {}, compression: { topk: { ratio: 0.01 } } }, /dgt cuts dense keys into blocks/],
      [{ name: 'hips', priority: 'p3', global_servers: 2 }, /one global server only/],
      [{ name: 'hips', dgt: {}, global_servers: 2 }, /cannot carry MultiGPS/],
      [{ name: 'hips', priority: 'p3', sync: 'mixed' }, /built for sync: fsa/],
      [{ name: 'hips', priority: 'p3', dgt: {} }, /one at a time/],
      [{ name: 'hips', p3: { slice_elements: 10 } }, /the slice size is for priority: p3/],
      [{ name: 'hips', dgt: { k: 0 } }, /above 0/],
      [{ name: 'hips', dgt: { alpha: 1 } }, /below 1/],
    ];
    for (const [config, message] of cases) {
      expect(() => scenario([config]), JSON.stringify(config)).toThrow(ScenarioError);
      expect(() => scenario([config]), JSON.stringify(config)).toThrow(message);
    }
  });

  const dir = useTempDir();
  it('refused with emulated training (a step\'s time is known only as a whole): exit-2 error, no results folder', async () => {
    const s = parseScenario([
      'name: p3-train', 'seed: 1', 'iterations: 2', 'nodes: [a, b]', 'links:', '  - between: [a, b]', '    bandwidth: 100',
      'workload: { train: { model: mlp, dataset: mnist }, compute_ms: 10 }', 'schedulers: [hips, { name: hips, label: p3, priority: p3 }]',
    ].join('\n'), 'p3-train.yaml');
    const out = join(dir.path, 'never');
    await expect(runScenario(s, { mode: 'emu', out })).rejects.toThrow(/scheduler p3: layered compute \(priority: p3\).*emulated training measures each step as a whole/);
    await expect(runScenario(s, { mode: 'emu', out })).rejects.toBeInstanceOf(ScenarioError);
    expect(existsSync(out)).toBe(false);
  });
});

describe('P3 and DGT with real training (simulated)', () => {
  it('P3 learns as HiPS does (the same sums, sent in another order); DGT with its late blocks learns too', async () => {
    const s = parseScenario([
      'name: prio-train', 'seed: 3', 'iterations: 40', 'nodes: [a, b, c]', 'node_defaults: { workers: 2 }',
      'links:', '  - between: [a, b]', '  - between: [b, c]', '  - between: [c, a]', 'link_defaults: { bandwidth: 50 }',
      'workload: { train: { model: mlp, dataset: mnist, eval_every: 10, learning_rate: 0.002 }, compute_ms: 10 }',
      'schedulers: [hips, { name: hips, label: p3, priority: p3 }, { name: hips, label: dgt, dgt: {} }]',
    ].join('\n'), 'prio-train.yaml');
    // (a run fails if workers' weights differ after a step: the training record checks every checksum)
    const { runs, reported, data } = await trainEach(s);
    for (let r = 0; r < 3; r++) expect(reported.filter((x) => x.run === r)).toHaveLength(6 * 40);
    const evaluator = data.makeTrainer(null, 'eval');
    try {
      const [hips, p3, dgt] = runs.map((run) => {
        evaluator.setWeights(run.training!.snapshots.at(-1)!.weights);
        return evaluator.evaluate(data.test).accuracy;
      });
      expect(hips).toBeGreaterThan(0.8);
      expect(Math.abs(p3 - hips)).toBeLessThan(0.02);
      expect(dgt).toBeGreaterThan(0.75);
    } finally {
      evaluator.dispose();
    }
  }, 120_000);
});
