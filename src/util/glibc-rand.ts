/**
 * glibc's rand() after srand(seed) (the TYPE_3 additive feedback generator
 * of random_r.c), so that geobed can replay a C program's seeded draws
 * exactly: NetStorm's van seeds its initial link estimates with srand(2).
 */
export class GlibcRand {
  private readonly r: Int32Array;
  private i = 0;

  constructor(seed: number) {
    const r = new Int32Array(34);
    r[0] = seed === 0 ? 1 : seed | 0;
    for (let k = 1; k < 31; k++) {
      // 16807 * r[k-1] mod (2^31 - 1), by Schrage's method as glibc computes it
      const hi = Math.trunc(r[k - 1] / 127773);
      const lo = r[k - 1] % 127773;
      let word = 16807 * lo - 2836 * hi;
      if (word < 0) word += 2147483647;
      r[k] = word;
    }
    for (let k = 31; k < 34; k++) r[k] = r[k - 31];
    this.r = new Int32Array(34);
    this.r.set(r);
    // a ring of the last 34 values; glibc discards the first 310 outputs
    this.i = 34;
    for (let k = 34; k < 344; k++) this.step();
  }

  private step(): number {
    const r = this.r;
    const v = (r[(this.i - 31) % 34] + r[(this.i - 3) % 34]) | 0;
    r[this.i % 34] = v;
    this.i++;
    return v;
  }

  /** The next rand(): in [0, 2^31 - 1]. */
  next(): number {
    return this.step() >>> 1;
  }
}
