/**
 * A min-heap of (key, tie, id) triples in parallel typed arrays, ordered by
 * key, then tie (0 unless given), then the lower id: no allocation per
 * push, for the hot loops (max-min rates, shortest paths).
 */
export class KeyedHeap {
  private keys = new Float64Array(256);
  private ties = new Float64Array(256);
  private ids = new Int32Array(256);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  topKey(): number { return this.keys[0]; }
  topId(): number { return this.ids[0]; }

  private less(i: number, j: number): boolean {
    const a = this.keys[i], b = this.keys[j];
    if (a !== b) return a < b;
    const s = this.ties[i], t = this.ties[j];
    return s < t || (s === t && this.ids[i] < this.ids[j]);
  }

  private swap(i: number, j: number): void {
    const k = this.keys[i]; this.keys[i] = this.keys[j]; this.keys[j] = k;
    const t = this.ties[i]; this.ties[i] = this.ties[j]; this.ties[j] = t;
    const d = this.ids[i]; this.ids[i] = this.ids[j]; this.ids[j] = d;
  }

  topTie(): number { return this.ties[0]; }

  push(key: number, id: number, tie = 0): void {
    if (this.size === this.keys.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T) => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.keys = grow(this.keys, (n) => new Float64Array(n));
      this.ties = grow(this.ties, (n) => new Float64Array(n));
      this.ids = grow(this.ids, (n) => new Int32Array(n));
    }
    let i = this.size++;
    this.keys[i] = key; this.ties[i] = tie; this.ids[i] = id;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): void {
    const last = --this.size;
    if (last <= 0) return;
    this.keys[0] = this.keys[last]; this.ties[0] = this.ties[last]; this.ids[0] = this.ids[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}
