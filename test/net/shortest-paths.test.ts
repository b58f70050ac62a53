import { describe, expect, it } from 'vitest';
import { Topology } from '../../src/net/topology.js';
import { shortestPathTree } from '../../src/net/shortest-paths.js';

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
});
