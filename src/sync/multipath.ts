/**
 * NetStorm's auxiliary paths. For a hop from -> to, the main path is the
 * direct link; auxiliary path k is the cheapest path (cost 1/throughput)
 * that avoids the direct link and the intermediate nodes of paths 1..k-1.
 * Computed lazily by the agent that needs them and cached per plan.
 */
import type { Topology } from '../net/topology.js';
import { shortestPathTree } from '../net/shortest-paths.js';
import type { Plan } from './plan.js';

const cache = new WeakMap<Plan, Map<string, string[][]>>();

/** Auxiliary paths from -> to: each the list of nodes after `from`, ending with `to`. */
export function auxiliaryPaths(plan: Plan, topology: Topology, from: string, to: string): string[][] {
  const config = plan.multipath;
  if (!config || !plan.linkCost) return [];
  let perPlan = cache.get(plan);
  if (!perPlan) cache.set(plan, (perPlan = new Map()));
  const key = `${from}\u0000${to}`;
  const cached = perPlan.get(key);
  if (cached) return cached;
  const src = topology.nodeIndex(from);
  const dst = topology.nodeIndex(to);
  const banned = new Uint8Array(topology.nodes.length);
  const paths: string[][] = [];
  while (paths.length < config.maxPaths - 1) {
    const path = cheapestPath(topology, plan.linkCost, src, dst, banned);
    if (!path) break;
    paths.push(path.map((n) => topology.nodes[n]));
    for (const n of path.slice(0, -1)) banned[n] = 1;
  }
  perPlan.set(key, paths);
  return paths;
}

/** The cheapest path from src to dst without the direct link and the banned nodes (never dst); the path's nodes after src, or null. */
function cheapestPath(topology: Topology, cost: number[], src: number, dst: number, banned: Uint8Array): number[] | null {
  const tree = shortestPathTree(topology, src, {
    towards: false, cost, stopAt: dst, skipLink: topology.linkBetween(src, dst) ?? -1, skipNodes: banned,
  });
  if (tree.cost[dst] === Infinity) return null;
  const path: number[] = [];
  for (let at = dst; at !== src; at = topology.links[tree.via[at]].from) path.push(at);
  return path.reverse();
}
