/**
 * A min-heap of (key, id) pairs in parallel typed arrays, ties to the lower
 * id: no allocation per push, for the hot loops (max-min rates, shortest
 * paths). Made `withTies`, it orders (key, tie, id) triples: key, then tie,
 * then id (the underlay's routes: hops, then delay).
 */
export class KeyedHeap {
  private keys = new Float64Array(256);
  private ties: Float64Array | null;
  private ids = new Int32Array(256);
  size = 0;

  constructor(withTies = false) {
    this.ties = withTies ? new Float64Array(256) : null;
  }

  clear(): void {
    this.size = 0;
  }

  topKey(): number { return this.keys[0]; }
  topId(): number { return this.ids[0]; }

  private less(i: number, j: number): boolean {
    const a = this.keys[i], b = this.keys[j];
    if (a !== b) return a < b;
    const ties = this.ties;
    if (ties !== null && ties[i] !== ties[j]) return ties[i] < ties[j];
    return this.ids[i] < this.ids[j];
  }

  private swap(i: number, j: number): void {
    const k = this.keys[i]; this.keys[i] = this.keys[j]; this.keys[j] = k;
    const ties = this.ties;
    if (ties !== null) {
      const t = ties[i]; ties[i] = ties[j]; ties[j] = t;
    }
    const d = this.ids[i]; this.ids[i] = this.ids[j]; this.ids[j] = d;
  }

  topTie(): number { return this.ties === null ? 0 : this.ties[0]; }

  /** `tie` counts only in a heap made withTies. */
  push(key: number, id: number, tie = 0): void {
    if (this.size === this.keys.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T) => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.keys = grow(this.keys, (n) => new Float64Array(n));
      if (this.ties !== null) this.ties = grow(this.ties, (n) => new Float64Array(n));
      this.ids = grow(this.ids, (n) => new Int32Array(n));
    }
    let i = this.size++;
    this.keys[i] = key; this.ids[i] = id;
    if (this.ties !== null) this.ties[i] = tie;
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
    this.keys[0] = this.keys[last]; this.ids[0] = this.ids[last];
    if (this.ties !== null) this.ties[0] = this.ties[last];
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
