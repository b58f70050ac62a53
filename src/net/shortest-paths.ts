/**
 * The one shortest-path routine (Dijkstra) every part of geobed uses: the
 * underlay's routes (net/topology.ts: fewest hops, then lowest delay),
 * NetStorm's trees (lowest 1/throughput) and auxiliary paths
 * (sync/multipath.ts). A link's cost is `cost[id]`, compared first, then
 * `tie[id]` summed the same way; among equals the lower node index is
 * settled first and keeps its path (a later equal offer does not replace
 * it), so every result is deterministic.
 */
import { KeyedHeap } from '../util/keyed-heap.js';
import type { Topology, TopologyLink } from './topology.js';

export interface ShortestPathOptions {
  /** The tree of paths towards `root` (links followed backwards); else the tree of paths from it. */
  towards: boolean;
  cost: ArrayLike<number>;
  /** Compared when costs are equal (default: none). */
  tie?: ArrayLike<number>;
  /** Links not to use. */
  skip?: (link: TopologyLink) => boolean;
  /** Stop once this node is settled (its path is final; others may not be). */
  stopAt?: number;
  /** A heap to reuse (hot loops; made withTies if `tie` is given); cleared first. */
  heap?: KeyedHeap;
}

export interface ShortestPathTree {
  /** Summed cost (Infinity where unreachable). */
  cost: Float64Array;
  /** Summed tie cost (null without `tie`). */
  tie: Float64Array | null;
  /** Per node, the link of its path next to it: towards the root, its first link; from the root, its last. -1 at the root and where unreachable. */
  via: Int32Array;
  /** Links on each node's path (-1 where unreachable). */
  hops: Int32Array;
}

// Reused when the caller gives no heap (the routine is synchronous: no two calls overlap).
const plainHeap = new KeyedHeap();
const tiedHeap = new KeyedHeap(true);

export function shortestPathTree(topology: Topology, root: number, options: ShortestPathOptions): ShortestPathTree {
  const n = topology.nodes.length;
  const { towards, cost: linkCost, tie: linkTie, skip, stopAt } = options;
  const cost = new Float64Array(n).fill(Infinity);
  const tie = linkTie ? new Float64Array(n).fill(Infinity) : null;
  const via = new Int32Array(n).fill(-1);
  const hops = new Int32Array(n).fill(-1);
  const heap = options.heap ?? (linkTie ? tiedHeap : plainHeap);
  heap.clear();
  cost[root] = 0;
  if (tie) tie[root] = 0;
  hops[root] = 0;
  heap.push(0, root, 0);
  while (heap.size > 0) {
    const c = heap.topKey();
    const t = heap.topTie();
    const v = heap.topId();
    heap.pop();
    if (c !== cost[v] || (tie !== null && t !== tie[v])) continue; // a stale entry
    if (v === stopAt) break;
    for (const link of towards ? topology.inLinks(v) : topology.outLinks(v)) {
      if (skip?.(link)) continue;
      const u = towards ? link.from : link.to;
      const cu = c + linkCost[link.id];
      const tu = tie !== null ? t + linkTie![link.id] : 0;
      if (cu < cost[u] || (tie !== null && cu === cost[u] && tu < tie[u])) {
        cost[u] = cu;
        if (tie !== null) tie[u] = tu;
        via[u] = link.id;
        hops[u] = hops[v] + 1;
        heap.push(cu, u, tu);
      }
    }
  }
  return { cost, tie, via, hops };
}
