/**
 * IEEE 754 binary16 (half precision), converted from fp32 by
 * round-to-nearest, ties to even (what a cast to float16 does in MXNet's
 * mshadow half_t and in numpy), overflow to infinity, subnormals kept.
 * Node 20 has no Float16Array, so the bits are worked here: from an fp32's
 * bits by integer arithmetic, back by a table of all 65,536 halves.
 */

/** The binary16 bits nearest to the fp32 value whose bits are `bits`. */
export function halfBitsOf(bits: number): number {
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

/** The value of binary16 bits, worked out (the table below is made from it). */
function valueOfHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

let table: Float32Array | null = null;

/** Every half's value, by its bits. */
function halves(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = valueOfHalf(h);
  }
  return table;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits nearest to `x` (as an fp32 value). */
export function toBinary16(x: number): number {
  f32[0] = x;
  return halfBitsOf(u32[0]);
}

/** The value of binary16 bits. */
export function fromBinary16(h: number): number {
  return halves()[h];
}

/** `x` rounded to the nearest binary16 value. */
export function roundToBinary16(x: number): number {
  return halves()[toBinary16(x)];
}

/** fp32 values' bits, without copying. */
function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Every value rounded to binary16, in place. */
export function roundAllToBinary16(values: Float32Array): Float32Array {
  const t = halves();
  const bits = bitsOf(values);
  for (let k = 0; k < values.length; k++) values[k] = t[halfBitsOf(bits[k])];
  return values;
}

/** `values` as binary16 bits, and the values they stand for. */
export function toHalves(values: Float32Array): { halfBits: Uint16Array; rounded: Float32Array } {
  const t = halves();
  const bits = bitsOf(values);
  const halfBits = new Uint16Array(values.length);
  const rounded = new Float32Array(values.length);
  for (let k = 0; k < values.length; k++) {
    const h = halfBitsOf(bits[k]);
    halfBits[k] = h;
    rounded[k] = t[h];
  }
  return { halfBits, rounded };
}

/** The values of binary16 bits. */
export function fromHalves(halfBits: Uint16Array, length: number): Float32Array {
  const t = halves();
  const out = new Float32Array(length);
  for (let k = 0; k < length; k++) out[k] = t[halfBits[k]];
  return out;
}

/** Add `values` into `sum`, each addition rounded to binary16 (a float16 server's sum). */
export function addHalf(sum: Float32Array, values: Float32Array): void {
  const t = halves();
  const bits = bitsOf(sum);
  for (let k = 0; k < sum.length; k++) {
    sum[k] += values[k];
    sum[k] = t[halfBitsOf(bits[k])];
  }
}
