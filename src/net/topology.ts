/**
 * The physical topology: nodes, directed links, and the underlay's routes.
 * Routes are destination-based, like IP: every node has one next hop per
 * destination (fewest hops, then lowest delay, then lowest node index), so a
 * packet forwarded hop by hop follows exactly `route(from, to)`. The
 * emulator installs these same routes in the kernel.
 */
import { Heap } from '../util/heap.js';

export interface TopologyLink {
  id: number;
  from: number;
  to: number;
  delayS: number;
}

export class Topology {
  readonly index = new Map<string, number>();
  private readonly linkIds = new Map<number, number>();
  private readonly outgoing: TopologyLink[][];
  private readonly incoming: TopologyLink[][];
  /** nextHop[dest][node] = link id from node towards dest (-1 at dest), computed lazily. */
  private readonly nextHop: (Int32Array | undefined)[];
  private readonly routeCache = new Map<number, number[]>();

  constructor(readonly nodes: string[], readonly links: TopologyLink[]) {
    nodes.forEach((n, i) => this.index.set(n, i));
    this.outgoing = nodes.map(() => []);
    this.incoming = nodes.map(() => []);
    for (const link of links) {
      this.linkIds.set(link.from * nodes.length + link.to, link.id);
      this.outgoing[link.from].push(link);
      this.incoming[link.to].push(link);
    }
    this.nextHop = new Array(nodes.length);
  }

  static fromSpecs(nodes: string[], links: { from: string; to: string; delayS: number }[]): Topology {
    const index = new Map(nodes.map((n, i) => [n, i]));
    return new Topology(nodes, links.map((l, id) => ({ id, from: index.get(l.from)!, to: index.get(l.to)!, delayS: l.delayS })));
  }

  nodeIndex(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`unknown node ${name}`);
    return i;
  }

  /** The directed link from -> to, if the two are neighbours. */
  linkBetween(from: number, to: number): number | undefined {
    return this.linkIds.get(from * this.nodes.length + to);
  }

  neighbours(node: number): number[] {
    return this.outgoing[node].map((l) => l.to);
  }

  outLinks(node: number): TopologyLink[] {
    return this.outgoing[node];
  }

  inLinks(node: number): TopologyLink[] {
    return this.incoming[node];
  }

  /** Link ids along the underlay route from -> to (empty when from === to). */
  route(from: number, to: number): number[] {
    if (from === to) return [];
    const key = from * this.nodes.length + to;
    const cached = this.routeCache.get(key);
    if (cached) return cached;
    const hops = this.nextHopsTowards(to);
    const route: number[] = [];
    let at = from;
    while (at !== to) {
      const linkId = hops[at];
      if (linkId < 0) throw new Error(`no route from ${this.nodes[from]} to ${this.nodes[to]}`);
      route.push(linkId);
      at = this.links[linkId].to;
    }
    this.routeCache.set(key, route);
    return route;
  }

  routeDelay(route: number[]): number {
    let d = 0;
    for (const id of route) d += this.links[id].delayS;
    return d;
  }

  /** For every node, the first link of its route to `dest` (Dijkstra on reversed links). */
  nextHopsTowards(dest: number): Int32Array {
    const existing = this.nextHop[dest];
    if (existing) return existing;
    const n = this.nodes.length;
    const hops = new Float64Array(n).fill(Infinity);
    const delay = new Float64Array(n).fill(Infinity);
    const via = new Int32Array(n).fill(-1);
    const done = new Uint8Array(n);
    hops[dest] = 0;
    delay[dest] = 0;
    // Dijkstra on (hops, delay); among equals the node with the lower index
    // is settled first and wins as next hop, so routes are deterministic.
    const key = (v: number) => ({ v, h: hops[v], d: delay[v] });
    const frontier = new Heap<{ v: number; h: number; d: number }>((a, b) => a.h < b.h || (a.h === b.h && (a.d < b.d || (a.d === b.d && a.v < b.v))));
    frontier.push(key(dest));
    while (frontier.size > 0) {
      const { v: best, h, d } = frontier.pop()!;
      if (done[best] || h !== hops[best] || d !== delay[best]) continue;
      done[best] = 1;
      for (const link of this.incoming[best]) {
        const u = link.from;
        if (done[u]) continue;
        const hu = hops[best] + 1;
        const du = delay[best] + link.delayS;
        if (hu < hops[u] || (hu === hops[u] && du < delay[u])) {
          hops[u] = hu;
          delay[u] = du;
          via[u] = link.id;
          frontier.push(key(u));
        }
      }
    }
    this.nextHop[dest] = via;
    return via;
  }
}
