/**
 * The physical topology: nodes, directed links, and the underlay's routes.
 * Routes are destination-based, like IP: every node has one next hop per
 * destination (fewest hops, then lowest delay, then lowest node index), so a
 * packet forwarded hop by hop follows exactly `route(from, to)`. The
 * emulator installs these same routes in the kernel.
 */
import { shortestPathTree } from './shortest-paths.js';

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
  private unitCost: Float64Array | null = null;
  private delays: Float64Array | null = null;

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

  /** For every node, the first link of its route to `dest` (fewest hops, then lowest delay, then lowest node index). */
  nextHopsTowards(dest: number): Int32Array {
    const existing = this.nextHop[dest];
    if (existing) return existing;
    this.unitCost ??= new Float64Array(this.links.length).fill(1);
    this.delays ??= Float64Array.from(this.links, (l) => l.delayS);
    const { via } = shortestPathTree(this, dest, { towards: true, cost: this.unitCost, tie: this.delays });
    this.nextHop[dest] = via;
    return via;
  }
}
