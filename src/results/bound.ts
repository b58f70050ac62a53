/**
 * A lower bound on the iteration time from the network itself. Every
 * worker's gradient (M bytes) is ready after the compute time; then the
 * aggregate of M bytes must cross every cut that separates workers, in both
 * directions, and every worker must send and receive at least M(N-1)/N. For
 * a cut whose capacity follows traces, the time needed is the T at which
 * the capacity integrated from the start reaches the bytes. The bound is the
 * largest T over the cuts considered: every single worker's cut (both ways),
 * and the smallest worker-separating cut of the capacities in force when
 * the iteration's communication starts (found by max-flow). With constant
 * capacities this is the exact largest cut bound.
 */
import type { Scenario } from '../scenario/types.js';
import { mbpsToBytesPerSec } from '../util/format.js';

interface Candidate {
  links: number[];
  bytes: number;
}

/** Beyond this many simulated seconds a cut that carries nothing gives an infinite bound. */
const HORIZON_S = 1e8;

export class NetworkBound {
  private readonly minCutCache = new Map<string, number[][]>();
  private readonly nodeCandidates: Candidate[] = [];
  private readonly m: number;

  constructor(private readonly scenario: Scenario) {
    this.m = scenario.workload.totalBytes;
    const workers = scenario.workers;
    const n = workers.length;
    if (n < 2) return;
    for (const w of workers) {
      const out = scenario.links.filter((l) => l.from === w).map((l) => l.id);
      const into = scenario.links.filter((l) => l.to === w).map((l) => l.id);
      this.nodeCandidates.push({ links: out, bytes: this.m }, { links: into, bytes: this.m });
      this.nodeCandidates.push({ links: out, bytes: (this.m * (n - 1)) / n }, { links: into, bytes: (this.m * (n - 1)) / n });
    }
  }

  /** Lower bound on the time from `start` (gradients ready) until every worker holds the update. */
  syncBound(start: number): number {
    if (this.scenario.workers.length < 2) return 0;
    let bound = 0;
    for (const c of this.nodeCandidates) bound = Math.max(bound, this.timeToCarry(c, start));
    for (const links of this.minCuts(start)) bound = Math.max(bound, this.timeToCarry({ links, bytes: this.m }, start));
    return bound;
  }

  /** Smallest T with the integral of the cut's capacity over [start, start+T] >= bytes. */
  private timeToCarry(c: Candidate, start: number): number {
    const traces = c.links.map((l) => this.scenario.links[l].trace);
    let left = c.bytes;
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

  /** The smallest worker-separating directed cut(s) at time t, as link lists. */
  private minCuts(t: number): number[][] {
    const caps = this.scenario.links.map((l) => l.trace.rateAt(t));
    const key = caps.join(',');
    const cached = this.minCutCache.get(key);
    if (cached) return cached;
    const { nodes, workers, links } = this.scenario;
    const index = new Map(nodes.map((n, i) => [n, i]));
    const edges = links.map((l) => ({ from: index.get(l.from)!, to: index.get(l.to)!, cap: caps[l.id] }));
    const s = index.get(workers[0])!;
    let best = Infinity;
    let bestCut: number[] = [];
    for (const w of workers.slice(1)) {
      const t2 = index.get(w)!;
      for (const [src, dst] of [[s, t2], [t2, s]]) {
        const { value, sourceSide } = maxFlow(nodes.length, edges, src, dst);
        if (value < best) {
          best = value;
          bestCut = edges.map((e, i) => (sourceSide[e.from] && !sourceSide[e.to] ? i : -1)).filter((i) => i >= 0);
        }
      }
    }
    const result = [bestCut];
    this.minCutCache.set(key, result);
    return result;
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
