/**
 * The codecs' math, against values worked by hand: binary16 rounding,
 * Bi-Sparse (GeoMX src/kvstore/gradient_compression.cc BSCompress, BSCSum,
 * BSDecompress), top-k with error feedback.
 */
import { describe, expect, it } from 'vitest';
import { fromBinary16, toBinary16 } from '../../../src/sync/compression/binary16.js';
import {
  BISPARSE_PAD_VALUE, bisparseK, bisparsePullK, bisparseSampleSize, codecBytes, decode, encode, kthLargest, type CodecState,
} from '../../../src/sync/compression/codecs.js';
import { libstdcxxShuffle } from '../../../src/util/libstdcxx-shuffle.js';

describe('binary16, round to nearest, ties to even', () => {
  const cases: [string, number, number][] = [
    ['one', 1, 0x3c00],
    ['minus two', -2, 0xc000],
    ['0.1 (rounded down)', 0.1, 0x2e66],
    ['the largest finite, 65504', 65504, 0x7bff],
    ['65519 rounds down to 65504', 65519, 0x7bff],
    ['65520, halfway to 65536, ties to even: infinity', 65520, 0x7c00],
    ['1e6 overflows to infinity', 1e6, 0x7c00],
    ['minus infinity', -Infinity, 0xfc00],
    ['the smallest normal, 2^-14', 2 ** -14, 0x0400],
    ['the smallest subnormal, 2^-24', 2 ** -24, 0x0001],
    ['2^-25, halfway between 0 and 2^-24: ties to even, zero', 2 ** -25, 0x0000],
    ['1.5 x 2^-25 rounds up to 2^-24', 1.5 * 2 ** -25, 0x0001],
    ['3 x 2^-25, halfway between 2^-24 and 2^-23: ties to even, 2^-23', 3 * 2 ** -25, 0x0002],
    ['a subnormal, 1000 x 2^-24', 1000 * 2 ** -24, 0x03e8],
    ['1 + 2^-11, halfway: ties to even, 1', 1 + 2 ** -11, 0x3c00],
    ['1 + 3 x 2^-11, halfway: ties to even, 1 + 2^-9', 1 + 3 * 2 ** -11, 0x3c02],
    ['2047.5 ... rounds to 2048', 2047.5, 0x6800],
    ['minus zero', -0, 0x8000],
  ];
  for (const [what, x, bits] of cases) {
    it(what, () => expect(toBinary16(x).toString(16)).toBe(bits.toString(16)));
  }
  it('NaN stays NaN; every finite binary16 value survives the round trip', () => {
    expect(Number.isNaN(fromBinary16(toBinary16(NaN)))).toBe(true);
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(toBinary16(fromBinary16(h))).toBe(h);
    }
  });
  it('an fp16 message is 2 bytes an element and decodes to the rounded values', () => {
    const values = Float32Array.from([1, 0.1, 65520, 2 ** -25]);
    const { packed, decoded } = encode({ kind: 'fp16' }, values, {});
    expect(packed.byteLength).toBe(8);
    expect(codecBytes({ kind: 'fp16' }, 4)).toBe(8);
    expect(Array.from(decode({ kind: 'fp16' }, packed, 4))).toEqual([1, fromBinary16(0x2e66), Infinity, 0]);
    expect(Array.from(decoded)).toEqual(Array.from(decode({ kind: 'fp16' }, packed, 4)));
  });
});

describe('k-th largest by selection', () => {
  it('agrees with sorting, ties included', () => {
    let seed = 7;
    const next = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(next() * 300);
      const values = Float32Array.from({ length: n }, () => Math.floor(next() * 20));
      const sorted = Array.from(values).sort((a, b) => b - a);
      const k = 1 + Math.floor(next() * n);
      expect(kthLargest(Float32Array.from(values), k)).toBe(sorted[k - 1]);
    }
  });
});

describe('top-k with error feedback', () => {
  it('sends the k largest |g + residual| in index order; what is not sent stays, exactly', () => {
    const state: CodecState = {};
    const g = Float32Array.from([0.5, -3, 1, 2, -0.25, 3, 0, -1, 0.75, 2.5]);
    const first = encode({ kind: 'topk', ratio: 0.3 }, g, state); // k = 3
    expect(first.packed.byteLength).toBe(3 * 8);
    // values then uint32 indices
    expect(Array.from(new Float32Array(first.packed.buffer, 0, 3))).toEqual([-3, 3, 2.5]);
    expect(Array.from(new Uint32Array(first.packed.buffer, 12, 3))).toEqual([1, 5, 9]);
    expect(Array.from(state.residual!)).toEqual([0.5, 0, 1, 2, -0.25, 0, 0, -1, 0.75, 0]);
    // residual + sent = accumulated gradient
    const sum = first.decoded.map((v, i) => v + state.residual![i]);
    expect(Array.from(sum)).toEqual(Array.from(g));
    // the next step adds the new gradient to what stayed: 2 + 2 = 4 and 1 + 1.5 = 2.5 lead now
    const second = encode({ kind: 'topk', ratio: 0.3 }, Float32Array.from([0, 0, 1.5, 2, 0, 0, 0, 0, 0, 0]), state);
    // (accumulated: [0.5, 0, 2.5, 4, -0.25, 0, 0, -1, 0.75, 0]; the three largest: 4, 2.5 and -1)
    expect(Array.from(decode({ kind: 'topk', ratio: 0.3 }, second.packed, 10))).toEqual([0, 0, 2.5, 4, 0, 0, 0, -1, 0, 0]);
    expect(Array.from(state.residual!)).toEqual([0.5, 0, 0, 0, -0.25, 0, 0, 0, 0.75, 0]);
  });

  it('ties at the k-th magnitude go in index order; k is at least 1', () => {
    const state: CodecState = {};
    const { decoded } = encode({ kind: 'topk', ratio: 0.2 }, Float32Array.from([1, -2, 2, 2, 0]), state); // k = 1
    expect(Array.from(decoded)).toEqual([0, -2, 0, 0, 0]);
    expect(codecBytes({ kind: 'topk', ratio: 0.001 }, 10)).toBe(8);
  });

  it('a sum of top-k messages goes back as its nonzeros, k per contribution, padded', () => {
    const codec = { kind: 'nonzeros' as const, of: 'topk' as const, ratio: 0.2, contributions: 2 }; // 10 elements: cap 4
    expect(codecBytes(codec, 10)).toBe(32);
    const sum = Float32Array.from([0, 3, 0, 0, -1, 0, 0, 0, 0, 2]);
    const { packed } = encode(codec, sum, {});
    expect(packed.byteLength).toBe(32);
    expect(Array.from(new Uint32Array(packed.buffer, 16, 4))).toEqual([1, 4, 9, 0xffffffff]);
    expect(Array.from(decode(codec, packed, 10))).toEqual(Array.from(sum));
  });
});

describe('Bi-Sparse (GeoMX BSCompress)', () => {
  it('k and the pull cap in float arithmetic, as the C++ computes them', () => {
    expect(bisparseK(1000, 0.01)).toBe(10);
    expect(bisparseK(2_000_000, 0.01)).toBe(20_000);
    expect(bisparseK(131_072, 0.01)).toBe(1310);
    expect(bisparsePullK(2_000_000, 0.01, 9)).toBe(180_000);
    expect(bisparseK(1000, 0.5)).toBe(500);
    // the sample: 0.5% of N when N 0.005 rho >= 10, else 10 / rho
    expect(bisparseSampleSize(2000, 0.01)).toBe(1000);
    expect(bisparseSampleSize(40_000_000, 0.01)).toBe(200_000);
    expect(bisparseSampleSize(10_000, 0.5)).toBe(50);
  });

  it('momentum correction and accumulation; the threshold is the sample\'s 10th largest |v|; taken in index order; u and v zeroed where taken', () => {
    const n = 2000;
    const g = Float32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? i : -i) / 1000);
    const state: CodecState = {};
    const codec = { kind: 'bisparse' as const, ratio: 0.01 }; // k = 20, sample 1000, its top 10
    const { packed, decoded } = encode(codec, g, state);
    expect(packed.byteLength).toBe(8 * 20);
    // by hand: first call u = g, v = g; |v_i| = i / 1000; the boundary is the 10th largest index among the first 1000 of the fixed permutation
    const sample = Array.from(libstdcxxShuffle(n, 42).subarray(0, 1000)).sort((a, b) => b - a);
    const boundary = sample[9] / 1000;
    const taken = Array.from({ length: n }, (_, i) => i).filter((i) => Math.fround(i / 1000) >= Math.fround(boundary)).slice(0, 20);
    expect(taken.length).toBeGreaterThan(10);
    const values = new Float32Array(packed.buffer, 0, 20);
    const indices = new Float32Array(packed.buffer, 80, 20); // (float32 indices, as GeoMX stores them)
    const pad = 20 - taken.length;
    expect(Array.from(indices)).toEqual([...taken, ...new Array(pad).fill(-1)]);
    expect(Array.from(values)).toEqual([...taken.map((i) => g[i]), ...new Array(pad).fill(BISPARSE_PAD_VALUE)]);
    for (const i of taken) {
      expect(decoded[i]).toBe(g[i]);
      expect([state.momentum![i], state.residual![i]]).toEqual([0, 0]);
    }
    // what was not sent stays in v: v + sent = the accumulated gradient
    for (let i = 0; i < n; i++) expect(state.residual![i] + decoded[i]).toBe(g[i]);
    // second call: u <- 0.9 u + g, v <- v + u (float32)
    const u0 = Float32Array.from(state.momentum!);
    const v0 = Float32Array.from(state.residual!);
    const again = encode(codec, g, state);
    for (let i = 0; i < n; i++) {
      const u = Math.fround(Math.fround(u0[i] * Math.fround(0.9)) + g[i]);
      expect(state.momentum![i] === 0 ? 0 : state.momentum![i]).toBe(again.decoded[i] !== 0 ? 0 : u);
      expect(state.residual![i] + again.decoded[i]).toBe(Math.fround(v0[i] + u));
    }
  });

  it('fewer above the boundary than k: the rest of the message is padding (-65530, -1), still 8k bytes', () => {
    const n = 2000;
    const v = new Float32Array(n);
    const sampled = libstdcxxShuffle(n, 42).subarray(0, 12);
    for (const i of sampled) v[i] = 1; // 12 ones, all in the sample: its 10th largest is 1
    const { packed } = encode({ kind: 'bisparse', ratio: 0.01 }, v, {});
    expect(packed.byteLength).toBe(160);
    const values = Array.from(new Float32Array(packed.buffer, 0, 20));
    const indices = Array.from(new Float32Array(packed.buffer, 80, 20));
    expect(indices.slice(0, 12)).toEqual(Array.from(sampled).sort((a, b) => a - b));
    expect(values.slice(0, 12)).toEqual(new Array(12).fill(1));
    expect(values.slice(12)).toEqual(new Array(8).fill(BISPARSE_PAD_VALUE));
    expect(indices.slice(12)).toEqual(new Array(8).fill(-1));
  });

  it('the pull: the sum\'s nonzeros in index order up to floor(N rho G), the rest dropped (BSCSum)', () => {
    const codec = { kind: 'nonzeros' as const, of: 'bisparse' as const, ratio: 0.001, contributions: 2 }; // 2000 elements: cap 4
    const sum = new Float32Array(2000);
    for (const i of [3, 10, 700, 1500, 1999]) sum[i] = i;
    const { packed } = encode(codec, sum, {});
    expect(packed.byteLength).toBe(32);
    const out = decode(codec, packed, 2000);
    expect([3, 10, 700, 1500, 1999].map((i) => out[i])).toEqual([3, 10, 700, 1500, 0]);
  });
});
