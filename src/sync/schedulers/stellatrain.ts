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

export const stellatrainSpec = z.strictObject({
  name: z.literal('stellatrain'),
  ...common,
  order: z.array(nodeName).min(1).optional().describe('the ring: every data center with workers once, in ring order (default: the scenario\'s order; StellaTrain\'s is the order nodes connected to the master)'),
  momentum: z.number().min(0, 'at least 0').lt(1, 'less than 1').default(0)
    .describe('with optimizer sgd: the sparse optimizer\'s lazy momentum (optim/sgd.cpp; StellaTrain\'s test script runs 0.9); adam needs none'),
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

export function stellatrainPlan(dataCenters: DataCenter[], arrays: ModelArray[], options: StellatrainOptions, bytesPerElement = 4): Plan {
  const ring = ringOrder(dataCenters, options.order);
  const byName = new Map(dataCenters.map((dc) => [dc.name, dc]));
  // (a data center with one worker is that worker: nothing to gather)
  const workersOf = (dc: string) => (byName.get(dc)!.workers.length > 1 ? byName.get(dc)!.workers : []);
  const cr = stellatrainCr(options);
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
  return { version: 1, trees: ring.map((_, s) => gatherTree(ring, s, workersOf)), chunks, staleness: 1 };
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
          : 'Bi-Sparse and MPQ are GeoMX\'s, between its local and global servers: use them on hips'),
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
  policy: (o) => stellatrainPolicy(o),
  gathered: (o) => ({ momentum: o.momentum }),
});

export function stellatrainPolicy(options: StellatrainOptions): Policy {
  let plan: Plan | null = null;
  return { currentPlan: (ctx) => (plan ??= stellatrainPlan(ctx.dataCenters, ctx.arrays, options, ctx.bytesPerElement)) };
}
