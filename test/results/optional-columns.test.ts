/** Runs with and without optional columns (LANs, compression) combine into one table: the union, each missing cell what it means. */
import { describe, expect, it } from 'vitest';
import { rowInUnion, unionOfColumns } from '../../src/results/optional-columns.js';

describe('combining tables with optional columns', () => {
  const plain = ['scheduler', 'iteration', 'bytes', 'bound_s'];
  const lans = ['scheduler', 'iteration', 'bytes', 'lan_bytes', 'wan_bytes', 'bound_s'];
  const compressed = ['scheduler', 'iteration', 'bytes', 'dense_bytes', 'compression_ratio', 'bound_s'];

  it('the union keeps every header\'s order; a run without a LAN sends every byte over the WAN, one without compression at ratio 1', () => {
    const union = unionOfColumns([plain, lans, compressed])!;
    expect(union).toEqual(['scheduler', 'iteration', 'bytes', 'dense_bytes', 'compression_ratio', 'lan_bytes', 'wan_bytes', 'bound_s']);
    expect(rowInUnion(plain, union, ['ring', '3', '800', '1.5'])).toEqual(['ring', '3', '800', '800', '1.0000', '0', '800', '1.5']);
    expect(rowInUnion(compressed, union, ['st', '3', '80', '800', '10.0000', '1.5'])).toEqual(['st', '3', '80', '800', '10.0000', '0', '80', '1.5']);
  });

  it('a column no run may lack, or columns in another order, cannot combine (tables of different versions)', () => {
    expect(unionOfColumns([plain, [...plain, 'speed']])).toBeNull();
    expect(unionOfColumns([plain, ['iteration', 'scheduler', 'bytes', 'bound_s']])).toBeNull();
    expect(unionOfColumns([plain, plain])).toEqual(plain);
  });
});
