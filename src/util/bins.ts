/**
 * The bin of width `binS` that holds time t: floor(t / binS), corrected
 * where floating point puts t on the wrong side of a boundary (4.3 / 0.1 is
 * 42.99999999999999, yet 43 * 0.1 >= 4.3).
 */
export function binIndex(t: number, binS: number): number {
  let bin = Math.floor(t / binS);
  if ((bin + 1) * binS <= t) bin++;
  else if (bin > 0 && bin * binS > t) bin--;
  return bin;
}

/**
 * Bytes carried per time bin by each of `links` directed links. Complete
 * bins can be taken out (and forgotten) as a run goes, so a long run holds
 * only the bins still open.
 */
export class LinkBins {
  /** Bin b of link l is at ((b - base) * links + l). */
  private bytes: Float64Array;
  private base = 0;

  constructor(readonly links: number, readonly binS: number) {
    this.bytes = new Float64Array(links * 4);
  }

  add(link: number, bin: number, bytes: number): void {
    if (bin < this.base) throw new Error(`LinkBins: bin ${bin} was already taken (first open bin: ${this.base})`);
    const at = (bin - this.base) * this.links + link;
    if (at >= this.bytes.length) {
      const grown = new Float64Array(Math.max(at + this.links, this.bytes.length * 2));
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[at] += bytes;
  }

  /** Bytes link `link` carried in bin `bin` (0 for a bin already taken or never reached). */
  get(link: number, bin: number): number {
    const at = (bin - this.base) * this.links + link;
    return bin >= this.base && at < this.bytes.length ? this.bytes[at] : 0;
  }

  /** The first bin not taken yet. */
  get firstOpen(): number {
    return this.base;
  }

  /**
   * Hand every bin before `upTo` to `emit` (in order; `perLink[l]` is link
   * l's bytes, valid during the call) and forget them.
   */
  take(upTo: number, emit: (bin: number, perLink: Float64Array) => void): void {
    if (upTo <= this.base) return;
    for (let bin = this.base; bin < upTo; bin++) {
      const at = (bin - this.base) * this.links;
      emit(bin, at < this.bytes.length ? this.bytes.subarray(at, at + this.links) : new Float64Array(this.links));
    }
    const used = (upTo - this.base) * this.links;
    const rest = this.bytes.subarray(Math.min(used, this.bytes.length));
    const kept = new Float64Array(Math.max(this.links * 4, rest.length));
    kept.set(rest);
    this.bytes = kept;
    this.base = upTo;
  }
}
