/**
 * StellaTrain's thresholdv16 selection (github kaist-ina/stellatrain
 * backend/src/compress/thresholdv16.cpp, ThresholdvCompressor16::
 * impl_simd_v2 and impl_get_first_threshold), the engine's default
 * compressor: exactly K indices of a tensor, taken in blocks of 16 floats
 * (one cache line), each block scored by the sum of its |values|.
 *
 * - First call for a tensor: the threshold is the block score at position
 *   floor(K / 16) in descending order (nth_element; a last partial block's
 *   score scaled by 16 / its length); its increment is 1 % of it.
 * - Scan whole blocks in index order while fewer than K - K mod 16 are
 *   taken: a block scoring >= threshold is taken whole; one scoring less is
 *   a candidate. Then, while whole blocks remain and fewer than K are
 *   taken, the first block scoring >= threshold gives its first
 *   (K - taken) elements. A last partial block is scored by its signed sum
 *   (as the code does) x 16 / its length.
 * - The threshold moves: x 0.99 when fewer than K were taken, + the
 *   increment when K were.
 * - Still fewer than K: the best-scoring candidates, whole blocks (the last
 *   one cut), until K are taken (candidates scoring the same: lower index
 *   first, where the code's heap order is unspecified).
 *
 * Block scores are summed in the order the AVX code adds them, so that
 * ties against the threshold fall as they do there.
 */

export const BLOCK = 16;

/** Per tensor at one node: the threshold, and its fixed increment (absent before the first call). */
export interface ThresholdState {
  threshold?: number;
  increment?: number;
}

const f = Math.fround;

/** hsum_float_avx of |x[at..at+8)|: ((a0+a4) + (a1+a5)) + ((a2+a6) + (a3+a7)) in float. */
function halfScore(x: Float32Array, at: number): number {
  const a = (k: number) => Math.abs(x[at + k]);
  const s0 = f(a(0) + a(4)), s1 = f(a(1) + a(5)), s2 = f(a(2) + a(6)), s3 = f(a(3) + a(7));
  return f(f(s0 + s1) + f(s2 + s3));
}

/** A whole block's score, as the scan computes it. */
function blockScore(x: Float32Array, at: number): number {
  return f(halfScore(x, at) + halfScore(x, at + 8));
}

/** impl_get_first_threshold: block scores summed element by element, the last partial one scaled, the floor(K/16)-th in descending order. */
export function firstThreshold(x: Float32Array, k: number): number {
  const n = x.length;
  const blocks = Math.ceil(n / BLOCK);
  const scores = new Float32Array(blocks);
  for (let i = 0; i < n; i++) scores[Math.floor(i / BLOCK)] = f(scores[Math.floor(i / BLOCK)] + Math.abs(x[i]));
  if (n % BLOCK !== 0) scores[blocks - 1] = f(scores[blocks - 1] * f(BLOCK / (n % BLOCK)));
  const position = Math.min(Math.floor(k / BLOCK), blocks - 1);
  return [...scores].sort((p, q) => q - p)[position];
}

/**
 * The K indices thresholdv16 takes from `x` (in the order it takes them),
 * updating the tensor's threshold state.
 */
export function thresholdv16Select(x: Float32Array, k: number, state: ThresholdState): Uint32Array {
  const n = x.length;
  if (k > n) throw new Error(`thresholdv16: ${k} of ${n} elements`);
  if (state.threshold === undefined) {
    state.threshold = firstThreshold(x, k);
    state.increment = f(state.threshold * 0.01);
  }
  const threshold = state.threshold;
  const taken = new Uint32Array(k);
  let found = 0;
  const take = (from: number, count: number) => {
    for (let i = 0; i < count; i++) taken[found++] = from + i;
  };
  const candidates: [number, number][] = [];
  const wholeEnd = n - (n % BLOCK);
  const wholeTarget = k - (k % BLOCK);
  let p = 0;
  for (; p < wholeEnd && found < wholeTarget; p += BLOCK) {
    const score = blockScore(x, p);
    if (score >= threshold) take(p, BLOCK);
    else candidates.push([score, p]);
  }
  if (p < wholeEnd && found < k) {
    const remaining = k - found;
    for (; p < wholeEnd; p += BLOCK) {
      const score = blockScore(x, p);
      if (score >= threshold) {
        take(p, remaining);
        break;
      }
      candidates.push([score, p]);
    }
  }
  if (found < k && p < n && p >= wholeEnd) {
    // the last partial block (its signed sum, as the code adds it)
    const length = n - p;
    let sum = 0;
    for (let i = p; i < n; i++) sum = f(sum + x[i]);
    if (f(sum * BLOCK) >= f(threshold * length)) take(p, Math.min(k - found, length));
    else candidates.push([f(f(sum * BLOCK) / length), p]);
  }
  state.threshold = found < k ? f(threshold * 0.99) : f(threshold + state.increment!);
  if (found < k) {
    candidates.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, at] of candidates) {
      if (found >= k) break;
      take(at, Math.min(BLOCK, n - at, k - found));
    }
  }
  return taken;
}
