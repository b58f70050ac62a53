// The worked example of docs/extending.md, kept compiling and running by
// test/sync/extending.test.ts. Keep the two in step.
import { z } from 'zod';
import { chunkArrays, treeFromParents, type Plan } from '../../src/sync/plan.js';
import type { Policy } from '../../src/sync/policy.js';
import { common, defineScheduler, nodeName } from '../../src/sync/schedulers/definition.js';

export const chainSpec = z.strictObject({
  name: z.literal('chain'),
  ...common,
  order: z.array(nodeName).optional().describe('the chain, as a list of the workers; default: scenario order'),
}).describe('chain: each worker adds its part and passes it on; the last sends the sum back down');

export const chain = defineScheduler(chainSpec, {
  nodeFields: ['order'],
  check: (o, run) => (o.order && [...o.order].sort().join(',') !== [...run.workers].sort().join(',')
    ? [{ path: ['order'], message: `the chain must list every worker exactly once (${run.workers.join(', ')})` }]
    : []),
  policy: (o): Policy => {
    let plan: Plan | null = null;
    return {
      currentPlan: (ctx) => {
        if (plan) return plan;
        const order = o.order ?? ctx.workers;
        // worker i's parent is worker i+1; the last one is the root
        const parent = new Map(order.slice(0, -1).map((w, i) => [w, order[i + 1]]));
        plan = { version: 1, trees: [treeFromParents(order[order.length - 1], parent)], chunks: chunkArrays(ctx.arrays, o.chunk_elements, ctx.bytesPerElement) };
        return plan;
      },
    };
  },
});
