/**
 * MLNET: one static k-ary aggregation tree over the workers, rooted at the
 * server and built once at start (heap layout in scenario order: member i's
 * parent is member floor((i-1)/k)). Chunks are aggregated up the tree and
 * multicast back down it, pipelined chunk by chunk.
 */
import { z } from 'zod';
import type { ModelArray } from '../../model/profiles.js';
import { chunkArrays, treeFromParents, type Plan } from '../plan.js';
import type { Policy } from '../policy.js';
import { common, defineScheduler, nodeName } from './definition.js';
import { everyHopCompression } from '../compression/stage.js';

export const mlnetSpec = z.strictObject({
  name: z.literal('mlnet'),
  ...common,
  server: nodeName.optional().describe('the root of the tree; default: the first node'),
  k: z.number().int().min(2).default(2).describe('fan-in of the aggregation tree'),
}).describe('MLNET: a static k-ary aggregation tree');

export type MlnetOptions = Omit<z.output<typeof mlnetSpec>, 'name' | 'label'>;

export const mlnet = defineScheduler(mlnetSpec, { nodeFields: ['server'], compression: everyHopCompression(), policy: (o) => mlnetPolicy(o) });

export function mlnetPlan(nodes: string[], workers: string[], arrays: ModelArray[], options: MlnetOptions, bytesPerElement = 4): Plan {
  const server = options.server ?? nodes[0];
  const members = [server, ...workers.filter((w) => w !== server)];
  const parent = new Map<string, string>();
  for (let i = 1; i < members.length; i++) parent.set(members[i], members[Math.floor((i - 1) / options.k)]);
  return { version: 1, trees: [treeFromParents(server, parent)], chunks: chunkArrays(arrays, options.chunk_elements, bytesPerElement) };
}

export function mlnetPolicy(options: MlnetOptions): Policy {
  let plan: Plan | null = null;
  return {
    currentPlan: (ctx) => (plan ??= mlnetPlan(ctx.nodes, ctx.workers, ctx.arrays, options, ctx.bytesPerElement)),
  };
}
