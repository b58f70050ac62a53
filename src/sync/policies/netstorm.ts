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
import type { ModelArray } from '../../train/profiles.js';
import type { Topology } from '../../net/topology.js';
import { Heap } from '../../util/heap.js';
import { Rng } from '../../util/rng.js';
import { chunkArrays, pruneToWorkers, treeFromParents, type ChunkPlan, type Plan, type Tree } from '../plan.js';
import type { Measurement, Policy, PolicyContext } from '../policy.js';

export interface NetstormOptions {
  roots?: number;
  chunk_elements: number;
  awareness: boolean;
  multipath: boolean;
  fixed_topology: boolean;
  measure_threshold_mb: number;
  measure_window: number;
  check_period_s: number;
  initial_guess_mbps: number;
  main_queue_above: number;
  aux_queue_below: number;
  max_paths: number;
}

export interface RootTree {
  root: string;
  /** node -> next node towards the root, over physical links (pruned to workers). */
  parent: Map<string, string>;
  /** T_r: sum over depths of 1 / slowest link at that depth (s per Mbit). */
  score: number;
}

/**
 * The shortest-path in-tree towards `root` with link cost `cost` (Dijkstra
 * on reversed links; ties go to the lower node index): parentLink[v] is the
 * link v takes towards the root, -1 at the root and at unreachable nodes.
 */
export function shortestInTree(topology: Topology, cost: ArrayLike<number>, root: number): { parentLink: Int32Array; depth: Int32Array } {
  const n = topology.nodes.length;
  const dist = new Float64Array(n).fill(Infinity);
  const parentLink = new Int32Array(n).fill(-1);
  const depth = new Int32Array(n).fill(-1);
  const frontier = new Heap<{ v: number; d: number }>((a, b) => a.d < b.d || (a.d === b.d && a.v < b.v));
  dist[root] = 0;
  depth[root] = 0;
  frontier.push({ v: root, d: 0 });
  while (frontier.size > 0) {
    const { v, d } = frontier.pop()!;
    if (d !== dist[v]) continue;
    for (const link of topology.inLinks(v)) {
      const u = link.from;
      const du = d + cost[link.id];
      if (du < dist[u]) {
        dist[u] = du;
        parentLink[u] = link.id;
        depth[u] = depth[v] + 1;
        frontier.push({ v: u, d: du });
      }
    }
  }
  return { parentLink, depth };
}

/** The FAPT rooted at `root` and its score, from throughput estimates (Mbit/s per directed link). */
export function faptTree(topology: Topology, estimates: ArrayLike<number>, root: string, workers: Set<string>): RootTree {
  const cost = Array.from(estimates, (mbps) => 1 / Math.max(mbps, 1e-9));
  const { parentLink } = shortestInTree(topology, cost, topology.nodeIndex(root));
  const full = new Map<string, string>();
  parentLink.forEach((link, v) => {
    if (link >= 0) full.set(topology.nodes[v], topology.nodes[topology.links[link].to]);
  });
  const parent = pruneToWorkers(root, full, workers);
  return { root, parent, score: treeScore(topology, estimates, root, parent) };
}

/** T_r = sum over hop depth d of 1 / (slowest link from depth d to depth d-1). */
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
export function bestRoots(trees: RootTree[], r: number): RootTree[] {
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
    let kept: RootTree[];
    if (options.fixed_topology && fixedTrees) {
      kept = fixedTrees.map((t) => ({ ...t, score: treeScore(ctx.topology, est, t.root, t.parent) }));
    } else {
      const candidates = ctx.nodes.map((root) => faptTree(ctx.topology, est, root, workers));
      kept = bestRoots(candidates, options.roots ?? ctx.nodes.length);
      if (options.fixed_topology) fixedTrees = kept;
    }
    const trees: Tree[] = kept.map((t) => treeFromParents(t.root, t.parent));
    const chunks = dealChunks(chunkArrays(ctx.arrays, options.chunk_elements, ctx.bytesPerElement), kept.map((t) => 1 / t.score));
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
