/**
 * A scheduler over data centers, where data centers hold several workers.
 * The scheduler sees only the data centers: their nodes, the WAN's links,
 * and as workers the data centers that have any. Its plan is then given a
 * local stage: in each data center with several workers, every worker
 * sends its contribution to the data center's node (over the LAN), which
 * takes part in the plan as the data center's one contributor (its sum of
 * its workers' contributions), and hands every final value back to its
 * workers. For tree chunks the workers become leaves under their data
 * center's node in every tree; for online chunks (TSEngine) the agents
 * gather and hand back as `Plan.local` says. Measurements and multipath
 * stay between data centers: the LAN's links cost nothing to the
 * scheduler, and no agent measures a LAN message.
 *
 * With one worker per data center the scheduler runs exactly as it did
 * before data centers had several (makePolicy applies no local stage).
 */
import { Topology } from '../net/topology.js';
import type { DataCenter } from '../model/data-centers.js';
import type { LocalStage, Plan, Tree } from './plan.js';
import type { Policy, PolicyContext } from './policy.js';

export function withLocalStage(policy: Policy, dataCenters: DataCenter[]): Policy {
  const local: LocalStage = { parent: new Map(), children: new Map() };
  for (const dc of dataCenters) {
    if (dc.workers.length < 2) continue;
    local.children.set(dc.name, dc.workers);
    for (const w of dc.workers) local.parent.set(w, dc.name);
  }
  const workerCount = dataCenters.reduce((n, dc) => n + dc.workers.length, 0);
  const wrapped = new WeakMap<Plan, Plan>();
  let wan: { of: Topology; topology: Topology } | null = null;
  const dcContext = (ctx: PolicyContext): PolicyContext => {
    if (wan?.of !== ctx.topology) wan = { of: ctx.topology, topology: wanTopology(ctx.topology, ctx.nodes) };
    return { ...ctx, topology: wan.topology, workers: dataCenters.filter((dc) => dc.workers.length > 0).map((dc) => dc.name) };
  };
  return {
    ...policy,
    currentPlan(ctx) {
      const inner = policy.currentPlan(dcContext(ctx));
      let plan = wrapped.get(inner);
      if (!plan) wrapped.set(inner, (plan = withWorkers(inner, local, workerCount, ctx.topology.links.length)));
      return plan;
    },
    ...(policy.replan ? { replan: (ctx: PolicyContext) => policy.replan!(dcContext(ctx)) } : {}),
  };
}

/** The data centers' nodes and the links between them (the WAN), link ids kept. */
export function wanTopology(full: Topology, dataCenterNodes: string[]): Topology {
  const inside = new Set(dataCenterNodes.map((n) => full.nodeIndex(n)));
  const links = full.links.filter((l) => inside.has(l.from) && inside.has(l.to));
  // (data centers come first among the nodes, and WAN links first among the links: indices and ids stay)
  links.forEach((l, k) => {
    if (l.id !== k || l.from >= dataCenterNodes.length || l.to >= dataCenterNodes.length) throw new Error('the WAN must be the first nodes and links of the topology');
  });
  return new Topology(dataCenterNodes, links);
}

function withWorkers(plan: Plan, local: LocalStage, workerCount: number, linkCount: number): Plan {
  const trees = plan.trees.map((t) => addLeaves(t, local));
  const linkCost = plan.linkCost ? [...plan.linkCost, ...new Array(linkCount - plan.linkCost.length).fill(0)] : undefined;
  return {
    ...plan, trees, local,
    ...(linkCost ? { linkCost } : {}),
    ...(plan.online ? { online: { root: plan.online.root, contributors: workerCount } } : {}),
  };
}

/** The tree with each data center's workers as leaves under the data center's node (its broadcast reaches them after its WAN children). */
function addLeaves(tree: Tree, local: LocalStage): Tree {
  const parent = new Map(tree.parent);
  const upChildren = new Map(tree.upChildren);
  const children = new Map(tree.children);
  for (const [dc, workers] of local.children) {
    if (dc !== tree.root && !tree.parent.has(dc)) continue; // (a tree that does not reach this data center)
    for (const w of workers) parent.set(w, dc);
    upChildren.set(dc, (upChildren.get(dc) ?? 0) + workers.length);
    children.set(dc, [...(children.get(dc) ?? []), ...workers]);
  }
  return { root: tree.root, parent, upChildren, children };
}
