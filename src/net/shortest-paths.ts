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
import { popTop, siftUp } from '../util/indexed-heap.js';
import type { Topology, TopologyLink } from './topology.js';

export interface ShortestPathOptions {
  /** The tree of paths towards `root` (links followed backwards); else the tree of paths from it. */
  towards: boolean;
  cost: ArrayLike<number>;
  /** Compared when costs are equal (default: none). */
  tie?: ArrayLike<number>;
  /** Links not to use. */
  skip?: (link: TopologyLink) => boolean;
  /** A link not to use, by id (the fast path's form of `skip`). */
  skipLink?: number;
  /** Nodes not to enter (1 = avoid), the fast path's form of `skip`. */
  skipNodes?: Uint8Array;
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
  if (!options.tie && !options.skip && !options.heap) return plainTree(topology, root, options);
  if (options.skipLink !== undefined || options.skipNodes) throw new Error('shortestPathTree: skipLink and skipNodes go without tie, skip and heap');
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

/** Each node's links in one direction as flat arrays (CSR): node v's are at [start[v], start[v + 1]), in outLinks/inLinks order. */
interface Adjacency { start: Int32Array; other: Int32Array; link: Int32Array }
const adjacencies = new WeakMap<Topology, { towards: Adjacency; from: Adjacency }>();

function adjacency(topology: Topology, towards: boolean): Adjacency {
  let both = adjacencies.get(topology);
  if (!both) {
    const build = (into: boolean): Adjacency => {
      const n = topology.nodes.length;
      const start = new Int32Array(n + 1);
      const other = new Int32Array(topology.links.length);
      const link = new Int32Array(topology.links.length);
      let k = 0;
      for (let v = 0; v < n; v++) {
        start[v] = k;
        for (const l of into ? topology.inLinks(v) : topology.outLinks(v)) {
          other[k] = into ? l.from : l.to;
          link[k++] = l.id;
        }
      }
      start[n] = k;
      return { start, other, link };
    };
    both = { towards: build(true), from: build(false) };
    adjacencies.set(topology, both);
  }
  return towards ? both.towards : both.from;
}

let heapKeys = new Float64Array(256);
let heapNodes = new Int32Array(256);
let heapPos = new Int32Array(256);

/**
 * The same tree as the general routine for the common case (a cost, no tie,
 * links and nodes to avoid given as data), on flat arrays and an indexed
 * heap: NetStorm's planning runs two of these per candidate root, its
 * auxiliary paths one per path. Nodes are settled in the same (cost, node)
 * order and relax their links in the same order, so the result is the same
 * to the bit.
 */
function plainTree(topology: Topology, root: number, options: ShortestPathOptions): ShortestPathTree {
  const { towards, cost: linkCost, stopAt } = options;
  const skipLink = options.skipLink ?? -1;
  const skipNodes = options.skipNodes ?? null;
  const n = topology.nodes.length;
  const { start, other, link } = adjacency(topology, towards);
  const cost = new Float64Array(n).fill(Infinity);
  const via = new Int32Array(n).fill(-1);
  const hops = new Int32Array(n).fill(-1);
  if (heapKeys.length < n) {
    heapKeys = new Float64Array(2 * n);
    heapNodes = new Int32Array(2 * n);
    heapPos = new Int32Array(2 * n);
  }
  // An indexed heap of (cost, node), one entry per reached node (pos: its
  // index, -1 once settled or never reached); an improved cost moves its
  // entry up. Nodes leave in (cost, node) order, as from the lazy heap.
  const keys = heapKeys;
  const ids = heapNodes;
  const pos = heapPos;
  pos.fill(-1, 0, n);
  const place = (i: number, key: number, id: number): void => {
    keys[i] = key;
    ids[i] = id;
    siftUp(keys, ids, pos, i);
  };
  cost[root] = 0;
  hops[root] = 0;
  let size = 0;
  place(size++, 0, root);
  while (size > 0) {
    const c = keys[0];
    const v = ids[0];
    size = popTop(keys, ids, pos, size);
    if (v === stopAt) break;
    for (let k = start[v]; k < start[v + 1]; k++) {
      const u = other[k];
      if (link[k] === skipLink || (skipNodes !== null && skipNodes[u] === 1)) continue;
      const cu = c + linkCost[link[k]];
      if (cu < cost[u]) {
        cost[u] = cu;
        via[u] = link[k];
        hops[u] = hops[v] + 1;
        place(pos[u] >= 0 ? pos[u] : size++, cu, u);
      }
    }
  }
  return { cost, tie: null, via, hops };
}
