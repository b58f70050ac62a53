/**
 * NetStorm: an R-rooted Fastest Aggregation Path Tree (FAPT), kept up to
 * date by passive network awareness, with multipath auxiliary transmission.
 *
 * - Link cost is 1 / throughput (the latest measured mean, or a seeded
 *   guess for links never measured).
 * - For each candidate root r, the tree is the shortest-path in-tree towards
 *   r over physical links; the broadcast goes back down the same edges.
 * - Root score: T_r = sum over hop depth d of 1 / (slowest link between
 *   depth d and d-1); perf_r = 1 / T_r. The R best roots are kept.
 * - Chunks (at most chunk_elements) are dealt to the roots in proportion to
 *   perf, in model order, each to the root furthest below its share.
 * - Awareness: receivers report link throughputs; every check period, if
 *   anything changed, a new plan is made (it takes effect at the next
 *   iteration boundary, see the coordinator).
 * - Multipath: the plan carries the link costs; the agents divert a chunk
 *   to an auxiliary path when the direct link is busy (see agent.ts).
 */
import { z } from 'zod';
import type { ModelArray } from '../../model/profiles.js';
import { MAX_MBPS } from '../../model/limits.js';
import type { Topology } from '../../net/topology.js';
import { shortestPathTree } from '../../net/shortest-paths.js';
import { Rng } from '../../util/rng.js';
import { chunkArrays, treeFromParents, type ChunkPlan, type Plan, type Tree } from '../plan.js';
import type { Measurement, Policy, PolicyContext } from '../policy.js';
import { common, defineScheduler, periodS } from './definition.js';

export const netstormSpec = z.strictObject({
  name: z.literal('netstorm'),
  ...common,
  roots: z.number().int().positive().optional().describe('R, the number of roots kept; default: all nodes'),
  awareness: z.boolean().default(true).describe('passive network awareness (re-plan from measurements)'),
  multipath: z.boolean().default(true).describe('multipath auxiliary transmission'),
  fixed_topology: z.boolean().default(false).describe('keep the first plan\'s roots and trees; awareness only re-deals chunks'),
  measure_threshold_mb: z.number().nonnegative().default(4).describe('measure messages of at least this size'),
  measure_window: z.number().int().positive().default(4).describe('average this many measurements per link before reporting'),
  check_period_s: periodS.default(2).describe('re-plan at most this often, when measurements changed'),
  initial_guess_mbps: z.number().positive().max(MAX_MBPS, `at most ${MAX_MBPS} Mbit/s (1 Tbit/s)`).default(100).describe('throughput assumed for links not yet measured (seeded +-10%)'),
  main_queue_above: z.number().int().nonnegative().default(2).describe('multipath: divert when the main next hop holds more messages than this'),
  aux_queue_below: z.number().int().positive().default(1).describe('multipath: ...to a path whose first hop holds fewer than this'),
  max_paths: z.number().int().min(2).default(3).describe('multipath: paths per hop, the main one included'),
}).describe('NetStorm: R-rooted FAPT, passive awareness, multipath');

export type NetstormOptions = Omit<z.output<typeof netstormSpec>, 'name' | 'label'>;

export const netstorm = defineScheduler(netstormSpec, {
  nodeFields: [],
  check: (o, run) => (o.roots !== undefined && o.roots > run.nodes.length
    ? [{ path: ['roots'], message: `at most ${run.nodes.length}, the number of nodes (every node is a candidate root), got ${o.roots}` }]
    : []),
  policy: (o, run) => netstormPolicy(o, run.seed),
});

export interface RootTree {
  root: string;
  /** node -> next node towards the root, over physical links (pruned to workers). */
  parent: Map<string, string>;
  /** T_r: sum over depths of 1 / slowest link at that depth (s per Mbit). */
  score: number;
}

/** One candidate root's in-tree, in typed arrays (the planning hot path). */
interface Candidate {
  root: number;
  /** Link each node takes towards the root; -1 at the root and for nodes left out. */
  parentLink: Int32Array;
  score: number;
}

/**
 * The shortest-path in-tree towards `root` with link cost `cost` (Dijkstra
 * on reversed links; ties go to the lower node index): parentLink[v] is the
 * link v takes towards the root, -1 at the root and at unreachable nodes.
 */
export function shortestInTree(topology: Topology, cost: ArrayLike<number>, root: number): { parentLink: Int32Array; depth: Int32Array } {
  const tree = shortestPathTree(topology, root, { towards: true, cost });
  return { parentLink: tree.via, depth: tree.hops };
}

/** The candidate tree rooted at `root`: pruned to nodes with a worker below them, and scored. */
function candidate(topology: Topology, estimates: ArrayLike<number>, cost: ArrayLike<number>, root: number, isWorker: Uint8Array): Candidate {
  const { parentLink, depth } = shortestInTree(topology, cost, root);
  const n = topology.nodes.length;
  // Keep a node only if a worker's path to the root passes through it.
  const needed = new Uint8Array(n);
  needed[root] = 1;
  for (let w = 0; w < n; w++) {
    if (!isWorker[w]) continue;
    for (let at = w; !needed[at] && parentLink[at] >= 0; at = topology.links[parentLink[at]].to) needed[at] = 1;
  }
  const slowest = new Float64Array(n).fill(Infinity);
  let maxDepth = 0;
  for (let v = 0; v < n; v++) {
    if (!needed[v] || parentLink[v] < 0) {
      if (v !== root) parentLink[v] = -1;
      continue;
    }
    const d = depth[v];
    slowest[d] = Math.min(slowest[d], estimates[parentLink[v]]);
    if (d > maxDepth) maxDepth = d;
  }
  let score = 0;
  for (let d = 1; d <= maxDepth; d++) if (slowest[d] < Infinity) score += 1 / Math.max(slowest[d], 1e-9);
  return { root, parentLink, score };
}

function toRootTree(topology: Topology, c: Candidate): RootTree {
  const parent = new Map<string, string>();
  c.parentLink.forEach((link, v) => {
    if (link >= 0) parent.set(topology.nodes[v], topology.nodes[topology.links[link].to]);
  });
  return { root: topology.nodes[c.root], parent, score: c.score };
}

/** Every candidate root's FAPT and score, from throughput estimates (Mbit/s per directed link). */
export function candidateTrees(topology: Topology, estimates: ArrayLike<number>, roots: string[], workers: Set<string>): Candidate[] {
  const cost = Array.from(estimates, (mbps) => 1 / Math.max(mbps, 1e-9));
  const isWorker = Uint8Array.from(topology.nodes, (n) => (workers.has(n) ? 1 : 0));
  return roots.map((r) => candidate(topology, estimates, cost, topology.nodeIndex(r), isWorker));
}

/** The FAPT rooted at `root` and its score. */
export function faptTree(topology: Topology, estimates: ArrayLike<number>, root: string, workers: Set<string>): RootTree {
  return toRootTree(topology, candidateTrees(topology, estimates, [root], workers)[0]);
}

/** T_r of a given tree: sum over hop depth d of 1 / (slowest link from depth d to depth d-1). */
export function treeScore(topology: Topology, estimates: ArrayLike<number>, root: string, parent: Map<string, string>): number {
  const depthOf = new Map<string, number>([[root, 0]]);
  const depth = (v: string): number => {
    let d = depthOf.get(v);
    if (d === undefined) depthOf.set(v, (d = depth(parent.get(v)!) + 1));
    return d;
  };
  const slowest: number[] = [];
  for (const [child, p] of parent) {
    const d = depth(child);
    const mbps = estimates[topology.linkBetween(topology.nodeIndex(child), topology.nodeIndex(p))!];
    slowest[d] = slowest[d] === undefined ? mbps : Math.min(slowest[d], mbps);
  }
  let score = 0;
  for (const mbps of slowest) if (mbps !== undefined) score += 1 / Math.max(mbps, 1e-9);
  return score;
}

/** Deal chunks to trees in proportion to `weights`: each chunk, in order, to the tree furthest below its share. */
export function dealChunks(chunks: ChunkPlan[], weights: number[]): ChunkPlan[] {
  const total = weights.reduce((s, w) => s + w, 0);
  const share = weights.map((w) => w / total);
  const assigned = weights.map(() => 0);
  let dealt = 0;
  return chunks.map((chunk) => {
    dealt += chunk.bytes;
    let best = 0;
    let bestDeficit = -Infinity;
    share.forEach((s, r) => {
      const deficit = s * dealt - assigned[r];
      if (deficit > bestDeficit) {
        bestDeficit = deficit;
        best = r;
      }
    });
    assigned[best] += chunk.bytes;
    return { ...chunk, tree: best };
  });
}

/** Rank candidate roots by perf = 1 / T_r (best first; ties to the lower node index) and keep R. */
export function bestRoots<T extends { score: number }>(trees: T[], r: number): T[] {
  return [...trees].sort((a, b) => a.score - b.score).slice(0, r);
}

export function netstormPolicy(options: NetstormOptions, seed: number): Policy {
  let estimates: Float64Array | null = null;
  let changed = false;
  let version = 0;
  let plan: Plan | null = null;
  let fixedTrees: RootTree[] | null = null;

  const init = (ctx: PolicyContext) => {
    const rng = new Rng(seed, 'netstorm:guess');
    estimates = Float64Array.from(ctx.topology.links, () => options.initial_guess_mbps * rng.uniform(0.9, 1.1));
  };

  const makePlan = (ctx: PolicyContext): Plan => {
    const workers = new Set(ctx.workers);
    const est = estimates!;
    let scores: number[];
    let treeOf: (i: number) => RootTree;
    if (options.fixed_topology && fixedTrees) {
      const fixed = fixedTrees;
      scores = fixed.map((t) => treeScore(ctx.topology, est, t.root, t.parent));
      treeOf = (i) => fixed[i];
    } else {
      const best = bestRoots(candidateTrees(ctx.topology, est, ctx.nodes, workers), options.roots ?? ctx.nodes.length);
      scores = best.map((c) => c.score);
      treeOf = (i) => toRootTree(ctx.topology, best[i]);
      if (options.fixed_topology) fixedTrees = best.map((c) => toRootTree(ctx.topology, c));
    }
    let chunks = dealChunks(chunkArrays(ctx.arrays, options.chunk_elements, ctx.bytesPerElement), scores.map((score) => 1 / score));
    // Roots dealt no chunk do nothing: leave their trees out of the plan.
    const used = [...new Set(chunks.map((c) => c.tree))].sort((x, y) => x - y);
    const renumber = new Map(used.map((t, i) => [t, i]));
    chunks = chunks.map((c) => ({ ...c, tree: renumber.get(c.tree)! }));
    const trees: Tree[] = used.map((t) => {
      const tree = treeOf(t);
      return treeFromParents(tree.root, tree.parent);
    });
    return {
      version: ++version,
      trees,
      chunks,
      measure: options.awareness
        ? { thresholdBytes: options.measure_threshold_mb * 1e6, window: options.measure_window }
        : undefined,
      multipath: options.multipath
        ? {
          linkCost: Array.from(est, (mbps) => 1 / Math.max(mbps, 1e-9)),
          mainQueueAbove: options.main_queue_above, auxQueueBelow: options.aux_queue_below, maxPaths: options.max_paths,
        }
        : undefined,
    };
  };

  let topology: Topology | null = null;
  return {
    checkPeriodS: options.awareness ? options.check_period_s : undefined,
    currentPlan(ctx) {
      if (!plan) {
        topology = ctx.topology;
        init(ctx);
        plan = makePlan(ctx);
      }
      return plan;
    },
    observe(m: Measurement) {
      if (!topology || !estimates) return;
      const link = topology.linkBetween(topology.nodeIndex(m.from), topology.nodeIndex(m.to));
      if (link === undefined) return; // not a physical link
      estimates[link] = m.mbps;
      changed = true;
    },
    replan(ctx) {
      if (!changed || !plan) return;
      changed = false;
      plan = makePlan(ctx);
    },
  };
}
