import { describe, expect, it } from 'vitest';
import { psLiteParts, starPlan } from '../../src/sync/schedulers/star.js';
import { cutIntoChunks } from '../../src/sync/plan.js';

describe('star (ps-lite) plan', () => {
  const arrays = [
    { name: 'small0', elements: 10 },
    { name: 'big', elements: 2_500_001 },
    { name: 'small2', elements: 999_999 },
    { name: 'small3', elements: 5 },
  ];

  it('splits big arrays over all servers with ps-lite rounding, and hashes small ones to (key*9973) mod S', () => {
    const plan = starPlan(['a', 'b', 'c'], ['a', 'b', 'c'], arrays, { servers: 'all', chunk_elements: 1_000_000, bigarray_bound: 1_000_000, message: 'chunk', pull: 'pipelined' });
    const byArray = (k: number) => plan.chunks.filter((c) => c.array === k);
    // small arrays: whole, on server (key * 9973) % 3 -> key 0: 0, key 2: 19946 % 3 = 2, key 3: 29919 % 3 = 0
    expect(byArray(0).map((c) => [c.tree, c.elements])).toEqual([[0, 10]]);
    expect(byArray(2).map((c) => [c.tree, c.elements])).toEqual([[2, 999_999]]);
    expect(byArray(3).map((c) => [c.tree, c.elements])).toEqual([[0, 5]]);
    // big: round(2500001/3*(i+1)) - round(2500001/3*i) = 833334, 833333, 833334
    expect(psLiteParts(2_500_001, 3)).toEqual([833334, 833333, 833334]);
    expect(byArray(1).map((c) => [c.tree, c.offset, c.elements])).toEqual([[0, 0, 833334], [1, 833334, 833333], [2, 1666667, 833334]]);
    expect(plan.chunks.every((c) => c.bytes === c.elements * 4)).toBe(true);
  });

  it('cuts messages to at most chunk_elements, and covers every element exactly once', () => {
    const plan = starPlan(['a', 'b'], ['a', 'b'], arrays, { chunk_elements: 300_000, bigarray_bound: 1_000_000, message: 'chunk', pull: 'pipelined' });
    expect(Math.max(...plan.chunks.map((c) => c.elements))).toBe(300_000);
    arrays.forEach((a, k) => {
      const chunks = plan.chunks.filter((c) => c.array === k).sort((x, y) => x.offset - y.offset);
      let next = 0;
      for (const c of chunks) {
        expect(c.offset).toBe(next);
        next += c.elements;
      }
      expect(next).toBe(a.elements);
    });
    expect(cutIntoChunks(7, 3)).toEqual([3, 3, 1]);
    expect(plan.chunks.map((c) => c.id)).toEqual(plan.chunks.map((_, i) => i));
  });

  it('one server by default (the first node): every other worker pushes to it, it sends back to all', () => {
    const plan = starPlan(['s', 'w1', 'w2'], ['w1', 'w2'], arrays, { chunk_elements: 1_000_000, bigarray_bound: 1_000_000, message: 'chunk', pull: 'pipelined' });
    expect(plan.trees).toHaveLength(1);
    const tree = plan.trees[0];
    expect(tree.root).toBe('s');
    expect([...tree.parent]).toEqual([['w1', 's'], ['w2', 's']]);
    expect(tree.upChildren.get('s')).toBe(2);
    expect(tree.children.get('s')).toEqual(['w1', 'w2']);
  });
});
