import { describe, expect, it } from 'vitest';
import { Topology } from '../../src/net/topology.js';
import { shortestPathTree } from '../../src/net/shortest-paths.js';
import { KeyedHeap } from '../../src/util/keyed-heap.js';
import { generatedMesh } from '../../src/scenario/generate.js';
import { scenarioTopology } from '../../src/run/simulate.js';
import { Rng } from '../../src/util/rng.js';

// a diamond a-b-d, a-c-d (both ways) plus a direct a-d
const topology = Topology.fromSpecs(['a', 'b', 'c', 'd'], [
  { from: 'a', to: 'b', delayS: 0.01 }, { from: 'b', to: 'a', delayS: 0.01 },
  { from: 'a', to: 'c', delayS: 0.01 }, { from: 'c', to: 'a', delayS: 0.01 },
  { from: 'b', to: 'd', delayS: 0.01 }, { from: 'd', to: 'b', delayS: 0.01 },
  { from: 'c', to: 'd', delayS: 0.001 }, { from: 'd', to: 'c', delayS: 0.001 },
  { from: 'a', to: 'd', delayS: 0.5 }, { from: 'd', to: 'a', delayS: 0.5 },
]);
const id = (from: string, to: string) => topology.links.find((l) => topology.nodes[l.from] === from && topology.nodes[l.to] === to)!.id;
const ones = new Float64Array(topology.links.length).fill(1);

describe('the shortest-path routine', () => {
  it('among equal costs the lower node index keeps its path; a tie cost breaks the tie first', () => {
    const skipDirect = (l: { from: number; to: number }) => l.from === 0 && l.to === 3;
    const plain = shortestPathTree(topology, 0, { towards: false, cost: ones, skip: skipDirect });
    expect(plain.via[3]).toBe(id('b', 'd')); // a-b-d and a-c-d cost 2 each: b (index 1) settles first
    expect([plain.cost[3], plain.hops[3]]).toEqual([2, 2]);
    const delays = Float64Array.from(topology.links, (l) => l.delayS);
    const tied = shortestPathTree(topology, 0, { towards: false, cost: ones, tie: delays, skip: skipDirect });
    expect(tied.via[3]).toBe(id('c', 'd')); // same hops, less delay through c
  });

  it('towards a root follows links backwards: via is each node\'s first link', () => {
    const tree = shortestPathTree(topology, 3, { towards: true, cost: ones });
    expect(tree.via[0]).toBe(id('a', 'd')); // the direct link: one hop
    expect(tree.via[1]).toBe(id('b', 'd'));
    expect(tree.via[3]).toBe(-1);
  });

  it('unreachable nodes: infinite cost, no link', () => {
    const tree = shortestPathTree(topology, 0, { towards: false, cost: ones, skip: () => true });
    expect([tree.cost[3], tree.via[3], tree.hops[3]]).toEqual([Infinity, -1, -1]);
  });

  it('the fast path (flat arrays, links and nodes to avoid as data) gives the general routine\'s trees to the bit', () => {
    const rng = new Rng(3, 'shortest-paths');
    for (const nodes of [12, 60, 200]) {
      const mesh = scenarioTopology(generatedMesh({ nodes, seed: nodes }));
      // few distinct costs, so equal-cost paths are common and the tie rules matter
      const cost = Float64Array.from(mesh.links, () => 1 / (1 + rng.int(4)));
      for (let k = 0; k < 20; k++) {
        const root = rng.int(nodes);
        const towards = k % 2 === 0;
        const general = shortestPathTree(mesh, root, { towards, cost, heap: new KeyedHeap() }); // a heap of its own: the general routine
        expect(shortestPathTree(mesh, root, { towards, cost })).toEqual(general);
        // multipath's query: from root to a target, without the direct link and some nodes, stopping at the target
        const target = (root + 1 + rng.int(nodes - 1)) % nodes;
        const banned = Uint8Array.from({ length: nodes }, (_, v) => (v !== root && v !== target && rng.int(5) === 0 ? 1 : 0));
        const direct = mesh.linkBetween(root, target) ?? -1;
        const skip = (l: { id: number; to: number }) => l.id === direct || banned[l.to] === 1;
        expect(shortestPathTree(mesh, root, { towards: false, cost, stopAt: target, skipLink: direct, skipNodes: banned }))
          .toEqual(shortestPathTree(mesh, root, { towards: false, cost, stopAt: target, skip }));
      }
    }
  });
});
