/**
 * The relay underlay: nodes forward only to their neighbours, so a message
 * to a node further away is carried hop by hop by the agents, each holding
 * the whole message before passing it on (store-and-forward), as the
 * NetStorm fork's ps-lite van does on Klonet's point-to-point links
 * (fengwenjiao/netstorm 3rdparty/ps-lite/src/van.cc: Van::Add_trace puts
 * route[0][dst][0] on the message, Van::ProcessReply1Command pops a hop
 * and Van::Push queues the whole message for the next one).
 *
 * The path: the cheapest by the plan's link costs (1 / estimated
 * throughput; the van's route[i][j][0], Van::add_route) when the scheduler
 * has them, else the underlay's fewest-hop route (the path IP would take).
 */
import type { Topology } from '../net/topology.js';
import { shortestPathTree } from '../net/shortest-paths.js';
import type { Plan } from './plan.js';

const cache = new WeakMap<Plan, Map<number, string[]>>();

/** The nodes after `from` on the relay path to `to`, ending with `to`. */
export function relayPath(plan: Plan, topology: Topology, from: string, to: string): string[] {
  let perPlan = cache.get(plan);
  if (!perPlan) cache.set(plan, (perPlan = new Map()));
  const src = topology.nodeIndex(from);
  const dst = topology.nodeIndex(to);
  const key = src * topology.nodes.length + dst;
  let path = perPlan.get(key);
  if (!path) {
    path = plan.linkCost ? cheapest(topology, plan.linkCost, src, dst) : topology.route(src, dst).map((l) => topology.nodes[topology.links[l].to]);
    perPlan.set(key, path);
  }
  return path;
}

function cheapest(topology: Topology, cost: number[], src: number, dst: number): string[] {
  const tree = shortestPathTree(topology, src, { towards: false, cost, stopAt: dst });
  if (tree.cost[dst] === Infinity) throw new Error(`no path from ${topology.nodes[src]} to ${topology.nodes[dst]}`);
  const path: string[] = [];
  for (let at = dst; at !== src; at = topology.links[tree.via[at]].from) path.push(topology.nodes[at]);
  return path.reverse();
}
