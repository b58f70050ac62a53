import { describe, expect, it } from 'vitest';
import { libstdcxxShuffle } from '../../../src/util/libstdcxx-shuffle.js';

/** The permutation's hash as the C++ reference printed it: h = (h * 31 + idx[i]) mod 1e9+7 over all of it. */
function hash(a: Int32Array): number {
  let h = 0n;
  for (const v of a) h = (h * 31n + BigInt(v)) % 1000000007n;
  return Number(h);
}

// Reference: g++ 12.2 (Debian 12), std::iota then std::shuffle(idx.begin(), idx.end(), std::default_random_engine(42)),
// the first 12 entries and the hash above. 46340 is the largest size drawing two positions per call (46340^2 < 2^31 - 3).
const REFERENCE: [number, number[], number][] = [
  [1, [0], 0],
  [2, [1, 0], 31],
  [5, [4, 0, 3, 1, 2], 3697000],
  [1000, [633, 969, 275, 726, 236, 879, 102, 659, 852, 108, 273, 480], 381323535],
  [1001, [63, 65, 378, 727, 237, 634, 103, 264, 853, 994, 542, 481], 466393436],
  [46340, [38880, 7135, 12874, 18989, 29335, 14798, 44024, 659, 32008, 14606, 34707, 8225], 453237282],
  [46341, [22963, 31003, 7534, 26167, 37500, 10167, 29424, 37942, 11394, 10469, 40862, 32827], 328490230],
  [131072, [22963, 31003, 7534, 129154, 112121, 10167, 29424, 108670, 11394, 49323, 51785, 78163], 427294501],
];

describe('std::shuffle with default_random_engine(42), as libstdc++ computes it (GeoMX Bi-Sparse\'s sample)', () => {
  for (const [n, first, h] of REFERENCE) {
    it(`n = ${n}`, () => {
      const a = libstdcxxShuffle(n, 42);
      expect(Array.from(a.subarray(0, first.length))).toEqual(first);
      expect(hash(a)).toBe(h);
    });
  }
});
