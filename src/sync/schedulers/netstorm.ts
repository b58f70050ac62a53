/**
 * NetStorm: an R-rooted Fastest Aggregation Path Tree (FAPT), kept up to
 * date by passive network awareness, with multipath auxiliary transmission.
 * The defaults follow the published code (fengwenjiao/netstorm, its
 * 3rdparty/ps-lite/src/van.cc and kvstore/kvstore_dist.h, run with
 * scripts/demo/muti_server_resnet.sh); each idealisation is an option.
 *
 * - Link cost is 1 / throughput: the latest measurement, or for a link never
 *   measured the initial estimate: `van` (Van::Start: srand(2), every
 *   linked pair (i, j) in row-major order gets tps[i][j] = tps[j][i] =
 *   (rand() % 1000) / 10, in the van's unit, MB/s) or `guess`
 *   (initial_guess_mbps, seeded +-10%).
 * - For each candidate root r, the tree is the shortest-path in-tree towards
 *   r over physical links (Van::PolicyDecision: a node's parent is the next
 *   hop of its best route to r); the broadcast goes back down the same edges.
 * - Root score: T_r = sum over hop depth d of 1 / (slowest link at depth
 *   d), perf_r = 1 / T_r, on the links from r out to the nodes
 *   (`score_links: root-to-leaf`, Van::compute_performance walks
 *   route[r][j][0]) or on the tree's own links towards r (`leaf-to-root`).
 *   The R best roots are kept (NUM_ENABLE_SERVER).
 * - Chunks (at most chunk_elements, MXNET_KVSTORE_BIGARRAY_BOUND) are dealt
 *   in model order: `quota-round-robin` (KVStoreDist::EncodeDefaultKey:
 *   each root may take ceil(perf share x all elements); pieces go round
 *   robin, skipping roots at their quota) or `largest-deficit` (each to the
 *   root furthest below its share).
 * - Awareness: receivers report link throughputs, Sum bytes / Sum time over
 *   NUM_MSG_REPORT messages (`measure_aggregate`); every check period, if
 *   anything changed, a new plan is made (it takes effect at the next
 *   iteration boundary, see the coordinator).
 * - Multipath: the agents divert a chunk to an auxiliary path (every
 *   node-disjoint path by cost, Van::add_route with ENABLE_MUTI_TRACE=1,
 *   unless max_paths limits them) when the direct link's queue holds more
 *   than main_queue_above waiting messages and the path's first hop fewer
 *   than aux_queue_below (Van::Push: > 2 x SECOND_QUEUE_LIMIT and
 *   < SECOND_QUEUE_LIMIT; see docs/schedulers.md for L).
 */
import { z } from 'zod';
import type { ModelArray } from '../../model/profiles.js';
import { MAX_MBPS } from '../../model/limits.js';
import type { Topology } from '../../net/topology.js';
import { shortestPathTree } from '../../net/shortest-paths.js';
import { Rng } from '../../util/rng.js';
import { GlibcRand } from '../../util/glibc-rand.js';
import { chunkArrays, treeFromParents, type ChunkPlan, type Plan, type Tree } from '../plan.js';
import type { Measurement, Policy, PolicyContext } from '../policy.js';
import { common, defineScheduler, periodS } from './definition.js';
import { everyHopCompression } from '../compression/stage.js';

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
  initial_estimate: z.enum(['van', 'guess']).default('van').describe('links not yet measured: van = the fork\'s srand(2) draws, (rand() % 1000) / 10 MB/s, symmetric; guess = initial_guess_mbps +-10%'),
  initial_guess_mbps: z.number().positive().max(MAX_MBPS, `at most ${MAX_MBPS} Mbit/s (1 Tbit/s)`).default(100).describe('initial_estimate guess: throughput assumed for links not yet measured (seeded +-10%)'),
  score_links: z.enum(['root-to-leaf', 'leaf-to-root']).default('root-to-leaf').describe('root score on the links from the root out (the fork) or on the tree\'s links towards it'),
  deal: z.enum(['quota-round-robin', 'largest-deficit']).default('quota-round-robin').describe('how chunks go to roots in proportion to perf: round robin within quotas (the fork) or each to the root furthest below its share'),
  measure_aggregate: z.enum(['bytes-over-time', 'mean-rate']).default('bytes-over-time').describe('a report: total bytes over total time of measure_window messages (the fork), or the mean of their rates'),
  main_queue_above: z.number().int().nonnegative().default(2).describe('multipath: divert when the main next hop holds more messages than this'),
  aux_queue_below: z.number().int().positive().default(1).describe('multipath: ...to a path whose first hop holds fewer than this'),
  trigger_counts: z.enum(['waiting', 'all']).default('waiting').describe('multipath: count the messages waiting behind the one being sent (the fork\'s send queue), or all'),
  max_paths: z.number().int().min(2).optional().describe('multipath: at most this many paths per hop, the main one included; default: every node-disjoint path'),
  barrier: z.boolean().default(true).describe('consistency: an iteration\'s plan is handed out once every worker asked for it (the fork\'s ROUTE_RELEASE round)'),
}).describe('NetStorm: R-rooted FAPT, passive awareness, multipath');

export type NetstormOptions = Omit<z.output<typeof netstormSpec>, 'name' | 'label'>;

export const netstorm = defineScheduler(netstormSpec, {
  nodeFields: [],
  compression: everyHopCompression(),
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
  /** Link each node takes towards the root; -1 at the root and for nodes left out (made when first asked for). */
  readonly parentLink: Int32Array;
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

/** The in-tree towards `root`, pruned to nodes with a worker below them, and its score on its own links (leaf-to-root). */
function prunedInTree(topology: Topology, estimates: ArrayLike<number>, cost: ArrayLike<number>, root: number, isWorker: Uint8Array): { parentLink: Int32Array; score: number } {
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
  return { parentLink, score };
}

/**
 * T_r on the links from the root out (Van::compute_performance): the
 * cheapest path from the root to every worker, each link counted once, at
 * its hop depth from the root.
 */
export function rootToLeafScore(topology: Topology, estimates: ArrayLike<number>, cost: ArrayLike<number>, root: number, isWorker: Uint8Array): number {
  const tree = shortestPathTree(topology, root, { towards: false, cost });
  const seen = new Uint8Array(topology.links.length);
  const slowest: number[] = [];
  for (let w = 0; w < topology.nodes.length; w++) {
    if (!isWorker[w] || w === root) continue;
    for (let at = w; tree.via[at] >= 0; at = topology.links[tree.via[at]].from) {
      const link = tree.via[at];
      if (seen[link]) break; // the rest of the way to the root was walked from an earlier worker
      seen[link] = 1;
      const depth = tree.hops[at];
      slowest[depth] = Math.min(slowest[depth] ?? Infinity, estimates[link]);
    }
  }
  let score = 0;
  for (const mbps of slowest) if (mbps !== undefined) score += 1 / Math.max(mbps, 1e-9);
  return score;
}

function toRootTree(topology: Topology, c: Candidate): RootTree {
  const parent = new Map<string, string>();
  c.parentLink.forEach((link, v) => {
    if (link >= 0) parent.set(topology.nodes[v], topology.nodes[topology.links[link].to]);
  });
  return { root: topology.nodes[c.root], parent, score: c.score };
}

/** Every candidate root's FAPT and score, from throughput estimates (Mbit/s per directed link). */
export function candidateTrees(
  topology: Topology, estimates: ArrayLike<number>, roots: string[], workers: Set<string>, scoreLinks: NetstormOptions['score_links'] = 'leaf-to-root',
): Candidate[] {
  const cost = Array.from(estimates, (mbps) => 1 / Math.max(mbps, 1e-9));
  const isWorker = Uint8Array.from(topology.nodes, (n) => (workers.has(n) ? 1 : 0));
  return roots.map((r) => {
    const root = topology.nodeIndex(r);
    if (scoreLinks === 'leaf-to-root') return { root, ...prunedInTree(topology, estimates, cost, root, isWorker) };
    // scored on the links from the root out: the in-tree is made only for the roots a plan uses
    let tree: Int32Array | null = null;
    return {
      root,
      score: rootToLeafScore(topology, estimates, cost, root, isWorker),
      get parentLink() {
        return (tree ??= prunedInTree(topology, estimates, cost, root, isWorker).parentLink);
      },
    };
  });
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

/**
 * Deal chunks as the fork's KVStoreDist::EncodeDefaultKey does: tree r may
 * take ceil(weight share x all elements); in order, each chunk goes to the
 * next tree round robin that is below its quota.
 */
export function dealQuotaRoundRobin(chunks: ChunkPlan[], weights: number[]): ChunkPlan[] {
  const total = weights.reduce((s, w) => s + w, 0);
  const elements = chunks.reduce((s, c) => s + c.elements, 0);
  const quota = weights.map((w) => Math.ceil((w / total) * elements));
  const taken = weights.map(() => 0);
  let next = 0;
  return chunks.map((chunk) => {
    while (taken[next % weights.length] >= quota[next % weights.length]) next++;
    const tree = next % weights.length;
    taken[tree] += chunk.elements;
    next++;
    return { ...chunk, tree };
  });
}

/**
 * The van's initial estimates (Van::Start): srand(2); for every ordered pair
 * (i, j) in row-major order with a link between them, tps[i][j] = tps[j][i]
 * = (rand() % 1000) / 10, so each pair keeps the draw of its later visit.
 * The van's unit is MB/s (its reports are MB over seconds); returned in
 * Mbit/s per directed link. A draw of 0 leaves the pair out of the van's
 * graph for good (tps 0 reads as no link); here it is a 0 Mbit/s estimate.
 */
export function vanInitialEstimates(topology: Topology): Float64Array {
  const n = topology.nodes.length;
  const tps = new Float64Array(n * n);
  for (const link of topology.links) tps[link.from * n + link.to] = 1;
  const rand = new GlibcRand(2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (tps[i * n + j] === 0) continue;
      const v = (rand.next() % 1000) / 10;
      tps[i * n + j] = v;
      tps[j * n + i] = v;
    }
  }
  return Float64Array.from(topology.links, (l) => tps[l.from * n + l.to] * 8);
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
  /** The estimates of the latest check that found a change, and its plan's version: the plan to make when one is next asked for. */
  let due: { estimates: Float64Array; version: number } | null = null;
  let fixedTrees: RootTree[] | null = null;

  const initialEstimates = (topology: Topology): Float64Array => {
    if (options.initial_estimate === 'van') return vanInitialEstimates(topology);
    const rng = new Rng(seed, 'netstorm:guess');
    return Float64Array.from(topology.links, () => options.initial_guess_mbps * rng.uniform(0.9, 1.1));
  };

  /** The kept roots' perf weights and trees (made on demand), best roots first, or in node order for the quota deal. */
  const chooseTrees = (ctx: PolicyContext, est: Float64Array): { treeOf: (i: number) => RootTree; weights: number[] } => {
    if (options.fixed_topology && fixedTrees) {
      const fixed = fixedTrees;
      return { treeOf: (i) => fixed[i], weights: fixed.map((t) => 1 / treeScore(ctx.topology, est, t.root, t.parent)) };
    }
    let best = bestRoots(candidateTrees(ctx.topology, est, ctx.nodes, new Set(ctx.workers), options.score_links), options.roots ?? ctx.nodes.length);
    // the fork deals round robin over its servers in rank order
    if (options.deal === 'quota-round-robin') best = [...best].sort((a, b) => a.root - b.root);
    if (options.fixed_topology) fixedTrees = best.map((c) => toRootTree(ctx.topology, c));
    return { treeOf: (i) => toRootTree(ctx.topology, best[i]), weights: best.map((c) => 1 / c.score) };
  };

  const makePlan = (ctx: PolicyContext, est: Float64Array, planVersion: number): Plan => {
    const { treeOf, weights } = chooseTrees(ctx, est);
    const pieces = chunkArrays(ctx.arrays, options.chunk_elements, ctx.bytesPerElement);
    let chunks = options.deal === 'quota-round-robin' ? dealQuotaRoundRobin(pieces, weights) : dealChunks(pieces, weights);
    // Roots dealt no chunk do nothing: leave their trees out of the plan.
    const used = [...new Set(chunks.map((c) => c.tree))].sort((x, y) => x - y);
    const renumber = new Map(used.map((t, i) => [t, i]));
    chunks = chunks.map((c) => ({ ...c, tree: renumber.get(c.tree)! }));
    const trees: Tree[] = used.map((t) => {
      const tree = treeOf(t);
      return treeFromParents(tree.root, tree.parent);
    });
    return {
      version: planVersion,
      trees,
      chunks,
      linkCost: Array.from(est, (mbps) => 1 / Math.max(mbps, 1e-9)),
      measure: options.awareness
        ? { thresholdBytes: options.measure_threshold_mb * 1e6, window: options.measure_window, aggregate: options.measure_aggregate, metric: 'mbps' }
        : undefined,
      multipath: options.multipath
        ? {
          mainQueueAbove: options.main_queue_above, auxQueueBelow: options.aux_queue_below,
          countWaitingOnly: options.trigger_counts === 'waiting', maxPaths: options.max_paths ?? Infinity,
        }
        : undefined,
    };
  };

  let topology: Topology | null = null;
  return {
    checkPeriodS: options.awareness ? options.check_period_s : undefined,
    barrier: options.barrier,
    currentPlan(ctx) {
      if (!plan) {
        topology = ctx.topology;
        estimates = initialEstimates(ctx.topology);
        plan = makePlan(ctx, estimates, ++version);
      } else if (due) {
        plan = makePlan(ctx, due.estimates, due.version);
        due = null;
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
    replan() {
      if (!changed || !plan) return;
      changed = false;
      // A plan takes effect at the next iteration boundary, and several
      // checks can pass before it: keep the estimates this check saw and
      // make the plan from them when it is asked for (the same plan, made
      // once instead of at every check).
      due = { estimates: Float64Array.from(estimates!), version: ++version };
    },
  };
}
