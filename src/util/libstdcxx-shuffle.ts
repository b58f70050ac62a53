/**
 * std::shuffle(first, last, std::default_random_engine(seed)) as libstdc++
 * (GCC 9 and later; checked against GCC 12) computes it, so that geobed can
 * replay a C++ program's fixed permutation exactly: GeoMX's Bi-Sparse
 * samples its threshold from the indices shuffled with seed 42.
 *
 * default_random_engine is minstd_rand0 (x <- 16807 x mod 2^31 - 1);
 * uniform_int_distribution scales down by rejection (the generator's range
 * is not a full 32 bits); shuffle draws two swap positions per call while
 * the range squared fits the generator's (bits/stl_algo.h,
 * __gen_two_uniform_ints), then one per element.
 */
export class MinstdRand0 {
  private x: number;

  constructor(seed: number) {
    const s = seed % 2147483647;
    this.x = s === 0 ? 1 : s;
  }

  static readonly min = 1;
  static readonly max = 2147483646;

  next(): number {
    // 16807 * x < 2^46: exact in a double
    this.x = (16807 * this.x) % 2147483647;
    return this.x;
  }

  /** A uniform integer in [a, b], as libstdc++'s uniform_int_distribution draws it from this generator. */
  uniform(a: number, b: number): number {
    const range = b - a;
    const generatorRange = MinstdRand0.max - MinstdRand0.min;
    if (range > generatorRange) throw new Error('uniform range wider than minstd_rand0 (not needed here)');
    if (range === generatorRange) return this.next() - MinstdRand0.min + a;
    const extended = range + 1;
    const scaling = Math.floor(generatorRange / extended);
    const past = extended * scaling;
    let r: number;
    do r = this.next() - MinstdRand0.min;
    while (r >= past);
    return Math.floor(r / scaling) + a;
  }
}

/** 0, 1, ..., n-1 shuffled as std::shuffle with std::default_random_engine(seed) does (libstdc++). */
export function libstdcxxShuffle(n: number, seed: number): Int32Array {
  const a = new Int32Array(n);
  for (let k = 0; k < n; k++) a[k] = k;
  if (n === 0) return a;
  const g = new MinstdRand0(seed);
  const swap = (i: number, j: number) => {
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  };
  const generatorRange = MinstdRand0.max - MinstdRand0.min;
  if (Math.floor(generatorRange / n) >= n) {
    let i = 1;
    if (n % 2 === 0) {
      swap(i, g.uniform(0, 1));
      i++;
    }
    while (i !== n) {
      const swapRange = i + 1;
      const x = g.uniform(0, swapRange * (swapRange + 1) - 1);
      swap(i++, Math.floor(x / (swapRange + 1)));
      swap(i++, x % (swapRange + 1));
    }
    return a;
  }
  for (let i = 1; i < n; i++) swap(i, g.uniform(0, i));
  return a;
}
