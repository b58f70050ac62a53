/**
 * A lower bound on each iteration's time from the network itself.
 *
 * Iteration i ends when the last worker holds its update; the worker that
 * finished iteration i-1 last (w*) can only start computing i then, so its
 * gradient exists from t* = end(i-1) + compute on. Every worker's update
 * depends on that gradient, so for every cut (S, S') that separates workers
 * with w* in S, M bytes (the gradient size, as wire bytes) must cross from S to S' after
 * t*. For a cut whose capacity follows traces, the time needed is the T at
 * which its capacity integrated from t* reaches M. So
 *   iteration_s >= compute + max over such cuts of T.
 * Cuts considered: w*'s own out-cut, every other worker's in-cut (each
 * must also receive at least M(N-1)/N, which these dominate), and the
 * smallest such cut under the capacities in force at t* (max-flow from w*
 * to every other worker). With constant capacities this is the exact
 * largest cut bound; with changing ones it is still a valid bound. For the
 * first iteration every worker starts at 0, so every worker plays w*.
 */
import type { Scenario } from '../scenario/types.js';
import { mbpsToBytesPerSec } from '../util/format.js';
import { wireBytes } from '../net/wire.js';

/** Beyond this many simulated seconds a cut that carries nothing gives an infinite bound. */
const HORIZON_S = 1e8;

/**
 * Above this many workers^2 x directed links the max-flow cut search (one
 * max-flow per pair of workers, about a second per 1e8) is left out and the
 * bound uses each worker's out- and in-cut only: still a valid lower bound,
 * possibly a looser one (a 150-node full mesh: 5e8; the 9-DC WAN: 2,106).
 */
export const MAX_CUT_SEARCH = 1e8;

export class NetworkBound {
  /** False when the mesh is too large for the max-flow cut search (see MAX_CUT_SEARCH). */
  readonly searchesCuts: boolean;
  /** Minimum cuts by source worker, for the capacities of `cutCapacities`. */
  private readonly minCutCache = new Map<string, number[]>();
  private cutCapacities: number[] | null = null;
  private readonly index: Map<string, number>;
  private readonly m: number;
  /** Directed link ids leaving and entering each node. */
  private readonly outLinks = new Map<string, number[]>();
  private readonly inLinks = new Map<string, number[]>();

  constructor(private readonly scenario: Scenario) {
    this.m = wireBytes(scenario.workload.totalBytes, scenario.network.framing);
    this.index = new Map(scenario.nodes.map((n, i) => [n, i]));
    this.searchesCuts = scenario.workers.length ** 2 * scenario.links.length <= MAX_CUT_SEARCH;
    for (const n of scenario.nodes) {
      this.outLinks.set(n, []);
      this.inLinks.set(n, []);
    }
    for (const l of scenario.links) {
      this.outLinks.get(l.from)!.push(l.id);
      this.inLinks.get(l.to)!.push(l.id);
    }
  }

  /**
   * Lower bound on the communication after t*, when `late` (the last
   * worker to start; null: all of them) has its gradient.
   */
  syncBound(tStar: number, late: string | null): number {
    const { workers } = this.scenario;
    if (workers.length < 2) return 0;
    let bound = 0;
    const carry = (cut: number[]) => (bound = Math.max(bound, this.timeToCarry(cut, this.m, tStar)));
    for (const w of late === null ? workers : [late]) {
      carry(this.outLinks.get(w)!);
      if (this.searchesCuts) carry(this.minCutFrom(w, tStar));
    }
    // every other worker's in-cut (with every worker starting, each in-cut counts once: it is another's for some w)
    for (const v of workers) if (v !== late) carry(this.inLinks.get(v)!);
    return bound;
  }

  /** Smallest T with the integral of the cut's capacity over [start, start+T] >= bytes. */
  private timeToCarry(links: number[], bytes: number, start: number): number {
    const traces = links.map((l) => this.scenario.links[l].trace);
    let left = bytes;
    let t = start;
    while (t - start < HORIZON_S) {
      let rate = 0, next = Infinity;
      for (const tr of traces) {
        rate += mbpsToBytesPerSec(tr.rateAt(t));
        next = Math.min(next, tr.nextChangeAfter(t));
      }
      if (rate > 0 && t + left / rate <= next) return t + left / rate - start;
      if (next === Infinity) return Infinity;
      left -= rate * (next - t);
      t = next;
    }
    return Infinity;
  }

  /** The smallest directed cut with `w` on the source side and another worker beyond it, at time t. */
  private minCutFrom(w: string, t: number): number[] {
    const { workers, links } = this.scenario;
    const caps = links.map((l) => l.trace.rateAt(t));
    if (!this.cutCapacities || caps.some((c, i) => c !== this.cutCapacities![i])) {
      this.minCutCache.clear();
      this.cutCapacities = caps;
    }
    const key = w;
    const cached = this.minCutCache.get(key);
    if (cached) return cached;
    const edges = links.map((l) => ({ from: this.index.get(l.from)!, to: this.index.get(l.to)!, cap: caps[l.id] }));
    let best = Infinity;
    let bestCut: number[] = [];
    for (const v of workers) {
      if (v === w) continue;
      const { value, sourceSide } = maxFlow(this.scenario.nodes.length, edges, this.index.get(w)!, this.index.get(v)!);
      if (value < best) {
        best = value;
        bestCut = edges.map((e, i) => (sourceSide[e.from] && !sourceSide[e.to] ? i : -1)).filter((i) => i >= 0);
      }
    }
    this.minCutCache.set(key, bestCut);
    return bestCut;
  }
}

/** Edmonds-Karp max-flow; returns its value and the source side of a minimum cut. */
export function maxFlow(
  n: number, edges: { from: number; to: number; cap: number }[], source: number, sink: number,
): { value: number; sourceSide: boolean[] } {
  // Residual graph: edge 2i forward, 2i+1 backward.
  const head = new Int32Array(n).fill(-1);
  const next = new Int32Array(edges.length * 2);
  const to = new Int32Array(edges.length * 2);
  const residual = new Float64Array(edges.length * 2);
  edges.forEach((e, i) => {
    to[2 * i] = e.to; residual[2 * i] = e.cap; next[2 * i] = head[e.from]; head[e.from] = 2 * i;
    to[2 * i + 1] = e.from; residual[2 * i + 1] = 0; next[2 * i + 1] = head[e.to]; head[e.to] = 2 * i + 1;
  });
  let value = 0;
  const via = new Int32Array(n);
  for (;;) {
    via.fill(-1);
    const seen = new Uint8Array(n);
    seen[source] = 1;
    const queue = [source];
    for (let q = 0; q < queue.length && !seen[sink]; q++) {
      for (let e = head[queue[q]]; e >= 0; e = next[e]) {
        if (residual[e] > 1e-12 && !seen[to[e]]) {
          seen[to[e]] = 1;
          via[to[e]] = e;
          queue.push(to[e]);
        }
      }
    }
    if (!seen[sink]) return { value, sourceSide: Array.from(seen, (x) => x === 1) };
    let push = Infinity;
    for (let v = sink; v !== source; v = to[via[v] ^ 1]) push = Math.min(push, residual[via[v]]);
    for (let v = sink; v !== source; v = to[via[v] ^ 1]) {
      residual[via[v]] -= push;
      residual[via[v] ^ 1] += push;
    }
    value += push;
  }
}
