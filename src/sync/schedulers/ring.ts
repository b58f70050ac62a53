/**
 * Ring all-reduce over the workers (Horovod-style). The model is cut into N
 * equal segments; segment s is reduced along the ring starting at member s
 * (each member adds its part and passes it on) and completes at member
 * s-1, which then passes the result on around the ring (all-gather) until
 * member s-2 has it. Every member only ever sends to its successor.
 */
import { z } from 'zod';
import type { ModelArray } from '../../model/profiles.js';
import { cutIntoChunks, type ChunkPlan, type Plan, type Tree } from '../plan.js';
import type { Policy } from '../policy.js';
import type { DataCenter } from '../../model/data-centers.js';
import { common, defineScheduler, nodeName } from './definition.js';
import { everyHopCompression } from '../compression/stage.js';

export const ringSpec = z.strictObject({
  name: z.literal('ring'),
  ...common,
  order: z.array(nodeName).optional().describe('the ring, as a list of the data centers with workers (a data center\'s several workers are consecutive, in rank order); default: scenario order'),
}).describe('ring all-reduce: reduce-scatter, then all-gather');

export type RingOptions = Omit<z.output<typeof ringSpec>, 'name' | 'label'>;

export const ring = defineScheduler(ringSpec, {
  nodeFields: ['order'],
  level: 'workers',
  compression: everyHopCompression('a ring all-reduce sums on every hop, so a sparse message fills in on its way round; StellaTrain\'s sparse all-gather is the scheduler for sparse exchanges'),
  check: (o, run) => {
    const members = run.dataCenters.filter((dc) => dc.workers.length > 0).map((dc) => dc.name);
    return o.order && [...o.order].sort().join(',') !== [...members].sort().join(',')
      ? [{ path: ['order'], message: `the ring must list every data center with workers exactly once (${members.join(', ')})` }]
      : [];
  },
  policy: (o) => ringPolicy(o),
});

/** The segment trees of a ring: up along the ring to s-1, then down along the ring to s-2. */
export function ringTrees(order: string[]): Tree[] {
  const n = order.length;
  const at = (i: number) => order[((i % n) + n) % n];
  return order.map((_, s) => {
    const parent = new Map<string, string>();
    const upChildren = new Map<string, number>();
    const children = new Map<string, string[]>();
    for (let j = 0; j < n - 1; j++) {
      parent.set(at(s + j), at(s + j + 1));
      upChildren.set(at(s + j + 1), 1);
      children.set(at(s - 1 + j), [at(s + j)]);
    }
    return { root: at(s - 1), parent, upChildren, children };
  });
}

/** The ring's workers: data center by data center (in `order`, else the scenario's), each one's workers in rank order. */
export function ringOrder(dataCenters: DataCenter[], order?: string[]): string[] {
  const byName = new Map(dataCenters.map((dc) => [dc.name, dc.workers]));
  return (order ?? dataCenters.map((dc) => dc.name)).flatMap((name) => byName.get(name) ?? []);
}

/** The ring over `order`, the workers in ring order (ringOrder). */
export function ringPlan(order: string[], arrays: ModelArray[], options: Pick<RingOptions, 'chunk_elements'>, bytesPerElement = 4): Plan {
  const n = order.length;
  const total = arrays.reduce((s, a) => s + a.elements, 0);
  // Segment s covers elements [bound(s), bound(s+1)) of the flattened model;
  // chunks are cut at segment bounds, array bounds and chunk_elements.
  const bound = (s: number) => Math.round((total * s) / n);
  const chunks: ChunkPlan[] = [];
  let base = 0;
  arrays.forEach((a, array) => {
    let offset = 0;
    while (offset < a.elements) {
      const flat = base + offset;
      let segment = 0;
      while (segment < n - 1 && bound(segment + 1) <= flat) segment++;
      const take = Math.min(a.elements - offset, bound(segment + 1) - flat);
      for (const elements of cutIntoChunks(take, options.chunk_elements)) {
        chunks.push({ id: chunks.length, array, offset, elements, bytes: elements * bytesPerElement, tree: segment });
        offset += elements;
      }
    }
    base += a.elements;
  });
  return { version: 1, trees: ringTrees(order), chunks };
}

export function ringPolicy(options: RingOptions): Policy {
  let plan: Plan | null = null;
  return {
    currentPlan: (ctx) => (plan ??= ringPlan(ringOrder(ctx.dataCenters, options.order), ctx.arrays, options, ctx.bytesPerElement)),
  };
}
