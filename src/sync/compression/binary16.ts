/**
 * IEEE 754 binary16 (half precision), converted from fp32 by
 * round-to-nearest, ties to even (what a cast to float16 does in MXNet's
 * mshadow half_t and in numpy), overflow to infinity, subnormals kept.
 * Node 20 has no Float16Array, so the bits are worked here.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits nearest to `x` (as an fp32 value). */
export function toBinary16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0); // infinity, NaN (quiet)
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // a subnormal half (or zero): below half the smallest subnormal (2^-25) is zero; exactly half ties to even (zero)
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let h = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // (a carry out of the mantissa moves to the next exponent, and out of the largest to infinity, as it should)
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** The value of binary16 bits. */
export function fromBinary16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** `x` rounded to the nearest binary16 value. */
export function roundToBinary16(x: number): number {
  return fromBinary16(toBinary16(x));
}

/** Every value rounded to binary16, in place. */
export function roundAllToBinary16(values: Float32Array): Float32Array {
  for (let k = 0; k < values.length; k++) values[k] = roundToBinary16(values[k]);
  return values;
}
