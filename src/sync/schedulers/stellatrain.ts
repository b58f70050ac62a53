/**
 * StellaTrain (SIGCOMM 2024; github kaist-ina/stellatrain), as its engine
 * runs: each node (geobed: a data center's node; its workers are its GPUs)
 * sums its workers' gradients (modules/cpu_gather.cpp, over the LAN here:
 * StellaTrain's GPUs share the node's memory) plus its residual, selects
 * K = max(1, floor(N (1 - cr) / W)) entries of each tensor with
 * thresholdv16 (modules/compress.cpp; compress/thresholdv16.cpp) and keeps
 * the rest as its residual; then a sparse ring all-gather
 * (modules/grad_exchange.cpp, engine/comm_manager.cpp): W - 1 steps in
 * which each node sends the chunk it last received (its own first) to the
 * next node on the ring, nothing summed on the way, so every node ends with
 * all W chunks. Each node adds the W chunks up and steps a CPU optimizer
 * on the indices sent only (modules/cpu_optimize.cpp; optim/adam.cpp, SGD
 * with lazy momentum), and the next iteration's compute overlaps this
 * one's exchange (model staleness 1, engine/core.cpp).
 *
 * As a plan: one tree per node (its chunk's source): its workers under it
 * (their gradients summed there, then through thresholdv16: ChunkCodecs
 * atRoot 'data-center'), and a chain that hands the selection along the
 * ring, each node forwarding it to the next and to its own workers.
 */
import { z } from 'zod';
import type { DataCenter } from '../../model/data-centers.js';
import type { ModelArray } from '../../model/profiles.js';
import type { ChunkCodecs, ChunkPlan, Plan, Tree } from '../plan.js';
import type { Policy } from '../policy.js';
import { common, defineScheduler, nodeName } from './definition.js';
import { dataCenterOfName } from '../../model/data-centers.js';
import { GEOMX_ONLY } from '../compression/stage.js';

export const stellatrainSpec = z.strictObject({
  name: z.literal('stellatrain'),
  ...common,
  order: z.array(nodeName).min(1).optional().describe('the ring: every data center with workers once, in ring order (default: the scenario\'s order; StellaTrain\'s is the order nodes connected to the master)'),
  momentum: z.number().min(0, 'at least 0').lt(1, 'less than 1').default(0)
    .describe('with optimizer sgd: the sparse optimizer\'s lazy momentum (optim/sgd.cpp; StellaTrain\'s test script runs 0.9); adam needs none'),
  adaptive_cr: z.strictObject({
    every_iterations: z.number().int().min(1, 'at least 1').default(5).describe('decide a new cr at most this often (WAIT_EFFECT_ITER_MAIN: 5)'),
    effective_after: z.number().int().min(0, 'at least 0').default(3).describe('a decision applies this many iterations later (EFFECTIVE_AFTER_ITER: 3)'),
  }).optional().describe('NOT what StellaTrain\'s public code runs (its controller is wired to nothing): the compression ratio its paper adapts, as engine/batch_rate_alloc_optim.py computes it: the smallest cr whose bytes fit the measured WAN receive rate within 1.5 compute times'),
}).describe('StellaTrain: thresholdv16 per node, a sparse ring all-gather, a sparse CPU optimizer, staleness 1');

export type StellatrainOptions = Omit<z.output<typeof stellatrainSpec>, 'name' | 'label'>;

/** The compression ratio: the scenario's `compression: { thresholdv16: { cr } }`, else the engine's default. */
export function stellatrainCr(options: Pick<StellatrainOptions, 'compression'>): number {
  return options.compression?.thresholdv16?.cr ?? 0.99;
}

/** The data centers on the ring, in order. */
export function ringOrder(dataCenters: DataCenter[], order: string[] | undefined): string[] {
  return order ?? dataCenters.filter((dc) => dc.workers.length > 0).map((dc) => dc.name);
}

/** The tree of the chunk that node `s` of `ring` selects: its workers under it, then the ring from s, each node handing it to its workers too. */
export function gatherTree(ring: string[], s: number, workersOf: (dc: string) => string[]): Tree {
  const root = ring[s];
  const parent = new Map(workersOf(root).map((w) => [w, root] as [string, string]));
  const children = new Map<string, string[]>();
  for (let j = 0; j < ring.length; j++) {
    const node = ring[(s + j) % ring.length];
    children.set(node, [...workersOf(node), ...(j < ring.length - 1 ? [ring[(s + j + 1) % ring.length]] : [])]);
  }
  return { root, parent, upChildren: new Map([[root, parent.size]]), children };
}

export function stellatrainPlan(dataCenters: DataCenter[], arrays: ModelArray[], options: StellatrainOptions, bytesPerElement = 4, crGiven?: number, version = 1): Plan {
  const ring = ringOrder(dataCenters, options.order);
  const byName = new Map(dataCenters.map((dc) => [dc.name, dc]));
  // (a data center with one worker is that worker: nothing to gather)
  const workersOf = (dc: string) => (byName.get(dc)!.workers.length > 1 ? byName.get(dc)!.workers : []);
  const cr = crGiven ?? stellatrainCr(options);
  const nodes = ring.length;
  const codecs: ChunkCodecs = {
    lan: { down: { kind: 'gathered', cr, nodes } },
    wan: { up: { kind: 'thresholdv16', cr, nodes }, down: { kind: 'gathered', cr, nodes } },
    atRoot: 'data-center',
  };
  const chunks: ChunkPlan[] = [];
  ring.forEach((_, s) => arrays.forEach((a, array) => chunks.push({
    id: chunks.length, array, offset: 0, elements: a.elements, bytes: a.elements * bytesPerElement, tree: s, value: 'gathered', codecs,
  })));
  return {
    version, trees: ring.map((_, s) => gatherTree(ring, s, workersOf)), chunks, staleness: 1, sendOrder: 'iteration-then-array',
    // (the adaptive compression ratio measures every message's receive rate)
    ...(options.adaptive_cr ? { measure: { thresholdBytes: 0, window: 1, aggregate: 'bytes-over-time' as const, metric: 'mbps' as const } } : {}),
  };
}

export const stellatrain = defineScheduler(stellatrainSpec, {
  nodeFields: ['order'],
  // it places every node's workers itself (a node sums its GPUs' gradients)
  level: 'workers',
  compression: {
    placement: 'own',
    refuse: (_o, method) => (method === 'thresholdv16' ? null
      : method === 'topk' ? 'StellaTrain\'s engine selects with thresholdv16 (its topk.cpp does not produce a valid top-k, and nothing else is wired)'
        : method === 'fp16' ? 'StellaTrain sends float32 values (engine/config.h FP16_COMPRESSION 0)'
          : GEOMX_ONLY),
  },
  check: (o, run) => {
    const members = run.dataCenters.filter((dc) => dc.workers.length > 0).map((dc) => dc.name);
    const problems = [];
    if (o.order && [...o.order].sort().join(',') !== [...members].sort().join(',')) {
      problems.push({ path: ['order'], message: `the ring must list every data center with workers exactly once (${members.join(', ')})` });
    }
    if (members.length < 2) problems.push({ path: [], message: 'a sparse all-gather needs at least two data centers with workers' });
    return problems;
  },
  policy: (o, run) => stellatrainPolicy(o, run.workload?.computeS ?? null),
  gathered: (o) => ({ momentum: o.momentum }),
});

export function stellatrainPolicy(options: StellatrainOptions, computeS: number | null): Policy {
  const adaptive = options.adaptive_cr;
  if (!adaptive) {
    let plan: Plan | null = null;
    return { currentPlan: (ctx) => (plan ??= stellatrainPlan(ctx.dataCenters, ctx.arrays, options, ctx.bytesPerElement)) };
  }
  if (computeS === null || computeS <= 0) throw new Error('stellatrain adaptive_cr: the run has no compute time to size the exchange by');
  // per receiving node, the EWMA (0.9 on the new value) of its WAN receive rate (batch_rate_alloc.py update_telemetry)
  const received = new Map<string, number>();
  let cr = stellatrainCr(options);
  let pending: { at: number; cr: number } | null = null;
  let decided = -Infinity;
  const plans = new Map<number, Plan>();
  return {
    currentPlan(ctx) {
      const iteration = ctx.iteration ?? 0;
      if (pending && iteration >= pending.at) {
        cr = pending.cr;
        pending = null;
      }
      if (!pending && received.size > 0 && iteration - decided >= adaptive.every_iterations) {
        decided = iteration;
        const ring = ringOrder(ctx.dataCenters, options.order);
        const next = adaptiveCr(ctx.arrays.map((a) => a.elements), Math.min(...received.values()), computeS * 1000, ring.length);
        if (next !== cr) pending = { at: iteration + adaptive.effective_after, cr: next };
      }
      let plan = plans.get(cr);
      if (!plan) plans.set(cr, (plan = stellatrainPlan(ctx.dataCenters, ctx.arrays, options, ctx.bytesPerElement, cr, plans.size + 1)));
      return plan;
    },
    observe(m) {
      if (dataCenterOfName(m.from) === dataCenterOfName(m.to)) return; // (the WAN's rate: a node's GPUs share its memory)
      const before = received.get(m.to);
      received.set(m.to, before === undefined ? m.mbps : 0.9 * m.mbps + 0.1 * before);
    },
  };
}

/**
 * batch_rate_alloc_optim.py estimate_tx_bytes: a node's bytes for one
 * iteration at compression ratio `cr`: per tensor a ZMQ message of
 * 47 bytes + K (index + value) bytes, K = max(1, ceil((1 - cr) N)), and
 * 66 bytes of headers per 1,472-byte TCP segment (MTU 1538), counted as
 * ceil((payload + 1471) / 1472).
 */
export function estimateTxBytes(elements: number[], cr: number): number {
  const mss = 1538 - 0x42;
  let total = 0;
  for (const n of elements) {
    const k = Math.max(1, Math.ceil((1 - cr) * n));
    const payload = 2 + 1 + 8 + 16 + 1 + 1 + 1 + 8 + (n < 65536 ? 2 : 4) * k + 1 + 8 + 4 * k;
    total += payload + Math.ceil((payload + mss - 1) / mss) * 0x42;
  }
  return total;
}

/**
 * batch_rate_alloc_optim.py step_main: the smallest cr in [0, 0.999]
 * (binary_search_min_cond, 20 halvings) whose bytes, sent within 1.5 compute
 * times, need no more than `mbps`; then spread over the W - 1 chunks a node
 * sends: 1 - (1 - cr) / (W - 1) (the code's num_node - 1; for W = 2 it
 * leaves cr as it is). The code's compute time is its fitted GPU model's;
 * geobed's is the run's.
 */
export function adaptiveCr(elements: number[], mbps: number, computeMs: number, nodes: number): number {
  const needs = (cr: number) => (estimateTxBytes(elements, cr) * 8) / (1.5 * computeMs * 1000);
  // (as binary_search_min_cond: it returns the low end, the last cr seen not to fit, within 0.999 / 2^20 of one that does)
  let lo = 0, hi = 0.999;
  for (let steps = 20; lo < hi && steps > 0; steps--) {
    const mid = lo + (hi - lo) / 2;
    if (needs(mid) <= mbps) hi = mid;
    else lo = mid;
  }
  return 1 - (1 - lo) / Math.max(1, nodes - 1);
}
