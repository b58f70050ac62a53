/**
 * How a message's values travel when a scheduler compresses (plain data:
 * plans cross the control plane). Each codec has its exact size on the wire
 * for a message of N fp32 elements, an encoder (at the sender, with the
 * sender's state: residuals, momentum) and a decoder (at the receiver).
 *
 * - fp16: IEEE binary16, 2N bytes (GeoMX examples/cnn_fp16.py casts every
 *   gradient before its push; servers store and sum float16).
 * - bisparse: GeoMX's Bi-Sparse push (src/kvstore/gradient_compression.cc
 *   GradientCompression::BSCompress): momentum correction u <- 0.9 u + g,
 *   accumulation v <- v + u; a threshold from a sample of |v| at fixed
 *   shuffled indices; |v| >= threshold taken in index order, up to
 *   k = floor(N rho) (float arithmetic, as the C++ computes it); u and v
 *   zeroed where taken. Always 8k bytes: k float32 values, then k indices
 *   stored as float32, unused slots padded (-65530, -1).
 * - topk: the k = max(1, floor(N ratio)) largest |g + residual| (Deep
 *   Gradient Compression's sparsification with error feedback): the rest
 *   stays in the residual. 8k bytes: k float32 values, k uint32 indices.
 * - nonzeros: a sum of sparse messages sent on as its nonzero entries in
 *   index order, up to a cap, padded to the cap: GeoMX's Bi-Sparse pull
 *   (GradientCompression::BSCSum: cap floor(N rho G) in float arithmetic,
 *   entries beyond it dropped), and top-k's way back (cap: k per
 *   contribution summed, so nothing is lost; at most N).
 * - thresholdv16: StellaTrain's selection (thresholdv16.ts) of
 *   K = max(1, floor(N (1 - cr) / W)) entries (engine/modules/compress.cpp,
 *   float arithmetic) from the gradient plus the node's residual, the rest
 *   kept as the residual (error feedback, no momentum correction). K float32
 *   values and K indices, uint16 where N < 65,536, else uint32
 *   (grad_exchange.cpp with IDX_COMPRESSION).
 * - gathered: such a selection passed on unchanged (the sparse all-gather's
 *   forwarding), the same K entries and bytes.
 * A selected entry whose value is zero decodes to -0, so that a receiver
 * knows it was sent (StellaTrain's optimizer steps every index it gets,
 * zero or not).
 */
import { libstdcxxShuffle } from '../../util/libstdcxx-shuffle.js';
import { fromHalves, toHalves } from './binary16.js';
import { thresholdv16Select, type ThresholdState } from './thresholdv16.js';

export type Codec =
  | { kind: 'fp16' }
  | { kind: 'bisparse'; ratio: number }
  | { kind: 'topk'; ratio: number }
  | { kind: 'nonzeros'; of: 'bisparse' | 'topk'; ratio: number; contributions: number }
  | { kind: 'thresholdv16'; cr: number; nodes: number }
  | { kind: 'gathered'; cr: number; nodes: number };

/** A codec's state at one sender, for one message stream (one chunk on one kind of hop). */
export interface CodecState extends ThresholdState {
  /** topk, thresholdv16: what was not sent yet. bisparse: the accumulation v. */
  residual?: Float32Array;
  /** bisparse: the momentum-corrected gradient u. */
  momentum?: Float32Array;
}

/** GeoMX's padding of unused Bi-Sparse slots (value, index). */
export const BISPARSE_PAD_VALUE = -65530;
const BISPARSE_PAD_INDEX = -1;
/** top-k's unused slot (a nonzeros message with fewer entries than its cap). */
const NO_INDEX = 0xffffffff;

/** The momentum of Bi-Sparse's momentum correction (hard-coded in BSCompress). */
export const BISPARSE_MOMENTUM = 0.9;

const f = Math.fround;

/** Bi-Sparse's k for N elements at ratio rho: `const int zipped_size = float(original_size) * threshold;`. */
export function bisparseK(elements: number, ratio: number): number {
  return Math.trunc(f(f(elements) * f(ratio)));
}

/** Bi-Sparse's pull cap (BSCSum): `float(original_size) * threshold * multiplier`, G the data centers. */
export function bisparsePullK(elements: number, ratio: number, contributions: number): number {
  return Math.trunc(f(f(f(elements) * f(ratio)) * contributions));
}

/** top-k's k. */
export function topkK(elements: number, ratio: number): number {
  return Math.min(elements, Math.max(1, Math.floor(elements * ratio)));
}

/** StellaTrain's budget per node: `max(min(N, 1), (int64) (N * ((1 - cr) / (float) W)))` in float arithmetic. */
export function stellatrainK(elements: number, cr: number, nodes: number): number {
  const k = f(f(1 - f(cr)) / nodes);
  return Math.max(Math.min(elements, 1), Math.trunc(f(f(elements) * k)));
}

/**
 * How a sparse message stores its indices: float32 (GeoMX's Bi-Sparse keeps
 * them among its values), uint16 (StellaTrain below 65,536 elements,
 * IDX_COMPRESSION) or uint32.
 */
type IndexKind = 'f32' | 'u16' | 'u32';

const INDEX_BYTES: Record<IndexKind, number> = { f32: 4, u16: 2, u32: 4 };

function indexKind(codec: Exclude<Codec, { kind: 'fp16' }>, elements: number): IndexKind {
  if (codec.kind === 'bisparse' || (codec.kind === 'nonzeros' && codec.of === 'bisparse')) return 'f32';
  if (codec.kind === 'thresholdv16' || codec.kind === 'gathered') return elements < 65536 ? 'u16' : 'u32';
  return 'u32';
}

/** Entries a sparse codec's message holds for N elements. */
export function sparseSlots(codec: Exclude<Codec, { kind: 'fp16' }>, elements: number): number {
  switch (codec.kind) {
    case 'bisparse':
      return bisparseK(elements, codec.ratio);
    case 'topk':
      return topkK(elements, codec.ratio);
    case 'nonzeros':
      return codec.of === 'bisparse' ? bisparsePullK(elements, codec.ratio, codec.contributions) : Math.min(elements, topkK(elements, codec.ratio) * codec.contributions);
    case 'thresholdv16':
    case 'gathered':
      return stellatrainK(elements, codec.cr, codec.nodes);
  }
}

/** Bytes on the wire for a message of `elements` fp32 elements; null codec: dense fp32. */
export function codecBytes(codec: Codec | null | undefined, elements: number): number {
  if (!codec) return 4 * elements;
  if (codec.kind === 'fp16') return 2 * elements;
  return sparseSlots(codec, elements) * (4 + INDEX_BYTES[indexKind(codec, elements)]);
}

/**
 * Whether a chunk's final value may differ from the plain sum of its
 * contributions: Bi-Sparse (its momentum correction), top-k below ratio 1
 * (fp16 keeps exactly what binary16 holds; nonzeros send on what sparse
 * messages summed to).
 */
export function isLossy(codec: Codec): boolean {
  return codec.kind === 'bisparse' || codec.kind === 'thresholdv16' || (codec.kind === 'topk' && codec.ratio < 1);
}

export interface Encoded {
  /** The message's payload as it travels. */
  packed: Uint8Array;
  /** What the receiver decodes from it. */
  decoded: Float32Array;
}

/** Encode `values` for the wire (updating the sender's `state`). */
export function encode(codec: Codec, values: Float32Array, state: CodecState): Encoded {
  switch (codec.kind) {
    case 'fp16':
      return encodeHalf(values);
    case 'bisparse':
      return encodeBisparse(values, codec.ratio, state);
    case 'topk':
      return encodeTopk(values, codec.ratio, state);
    case 'nonzeros':
    case 'gathered':
      return encodeNonzeros(values, sparseSlots(codec, values.length), indexKind(codec, values.length));
    case 'thresholdv16':
      return encodeThresholdv16(values, sparseSlots(codec, values.length), indexKind(codec, values.length), state);
  }
}

/** The values a receiver gets from a payload of `length` elements. */
export function decode(codec: Codec, packed: Uint8Array, length: number): Float32Array {
  if (codec.kind === 'fp16') return fromHalves(new Uint16Array(packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength)), length);
  // (a selection's sent zeros decode to -0: StellaTrain's optimizer steps them)
  return decodeSparse(packed, length, indexKind(codec, length), codec.kind === 'thresholdv16' || codec.kind === 'gathered');
}

/** Was entry `v` of a decoded selection sent (a value, or a zero marked -0)? */
export function wasSent(v: number): boolean {
  return v !== 0 || Object.is(v, -0);
}

function encodeThresholdv16(grad: Float32Array, k: number, kind: IndexKind, state: CodecState): Encoded {
  const n = grad.length;
  // the gradient plus the node's residual (cpu_gather.cpp adds it before compressing)
  const acc = (state.residual ??= new Float32Array(n));
  for (let i = 0; i < n; i++) acc[i] += grad[i];
  const taken = thresholdv16Select(acc, k, state);
  const { packed, values, indices } = sparsePayload(k, kind);
  const decoded = new Float32Array(n);
  taken.forEach((index, slot) => {
    values[slot] = acc[index];
    indices[slot] = index;
    decoded[index] = acc[index] === 0 ? -0 : acc[index];
    acc[index] = 0; // what is sent leaves the residual
  });
  return { packed, decoded };
}

function encodeHalf(values: Float32Array): Encoded {
  const { halfBits, rounded } = toHalves(values);
  return { packed: new Uint8Array(halfBits.buffer), decoded: rounded };
}

/** A sparse payload of `slots` entries: float32 values, then indices; unused slots padded (GeoMX's -65530 / -1, else an index past any tensor). */
function sparsePayload(slots: number, kind: IndexKind): { packed: Uint8Array; values: Float32Array; indices: Float32Array | Uint16Array | Uint32Array } {
  const buffer = new ArrayBuffer(slots * (4 + INDEX_BYTES[kind]));
  const values = new Float32Array(buffer, 0, slots);
  const indices = kind === 'f32' ? new Float32Array(buffer, 4 * slots, slots) : kind === 'u16' ? new Uint16Array(buffer, 4 * slots, slots) : new Uint32Array(buffer, 4 * slots, slots);
  if (kind === 'f32') values.fill(BISPARSE_PAD_VALUE);
  indices.fill(kind === 'f32' ? BISPARSE_PAD_INDEX : kind === 'u16' ? 0xffff : NO_INDEX);
  return { packed: new Uint8Array(buffer), values, indices };
}

/** A sparse payload's dense values; `markZeros`: a sent zero decodes to -0. */
function decodeSparse(packed: Uint8Array, length: number, kind: IndexKind, markZeros: boolean): Float32Array {
  const buffer = packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength);
  const slots = packed.byteLength / (4 + INDEX_BYTES[kind]);
  const values = new Float32Array(buffer, 0, slots);
  const indices = kind === 'f32' ? new Float32Array(buffer, 4 * slots, slots) : kind === 'u16' ? new Uint16Array(buffer, 4 * slots, slots) : new Uint32Array(buffer, 4 * slots, slots);
  const out = new Float32Array(length);
  for (let i = 0; i < slots; i++) {
    const index = indices[i];
    // (as BSDecompress: a valid index's value is written, not added; padding points outside the tensor)
    if (index >= 0 && index < length) out[index] = markZeros && values[i] === 0 ? -0 : values[i];
  }
  return out;
}

/** The first indices of the fixed permutation Bi-Sparse samples (per size: the same every call). */
const samples = new Map<number, Int32Array>();

function bisparseSample(elements: number, size: number): Int32Array {
  const key = elements;
  let sample = samples.get(key);
  if (!sample || sample.length < size) {
    sample = libstdcxxShuffle(elements, 42).slice(0, size);
    samples.set(key, sample);
  }
  return sample;
}

/** Bi-Sparse's sample size: `original_size * 0.005 * threshold >= 10 ? original_size * 0.005 : 10 / threshold`, at most N. */
export function bisparseSampleSize(elements: number, ratio: number): number {
  const r = f(ratio);
  const size = elements * 0.005 * r >= 10 ? Math.trunc(elements * 0.005) : Math.trunc(f(10 / r));
  // (the C++ reads past the shuffled indices when this exceeds N; geobed samples all of them)
  return Math.min(size, elements);
}

function encodeBisparse(grad: Float32Array, ratio: number, state: CodecState): Encoded {
  const n = grad.length;
  const u = (state.momentum ??= new Float32Array(n));
  const v = (state.residual ??= new Float32Array(n));
  for (let i = 0; i < n; i++) {
    u[i] = f(f(u[i] * f(BISPARSE_MOMENTUM)) + grad[i]);
    v[i] = v[i] + u[i];
  }
  const k = bisparseK(n, ratio);
  const sampleSize = bisparseSampleSize(n, ratio);
  // `const unsigned int top_k = sample_size * threshold;` (int times float, in float)
  const sampleK = Math.trunc(f(sampleSize * f(ratio)));
  const { packed, values, indices } = sparsePayload(k, 'f32');
  const decoded = new Float32Array(n);
  if (sampleK === 0 || k === 0) return { packed, decoded };
  const sample = bisparseSample(n, sampleSize);
  const magnitudes = new Float32Array(sampleSize);
  for (let i = 0; i < sampleSize; i++) magnitudes[i] = Math.abs(v[sample[i]]);
  // the sampleK-th largest of the sample (the top of a min-heap of the sampleK largest)
  const boundary = kthLargest(magnitudes, sampleK);
  let taken = 0;
  for (let i = 0; i < n && taken < k; i++) {
    if (Math.abs(v[i]) >= boundary) {
      values[taken] = v[i];
      indices[taken] = i;
      decoded[i] = v[i];
      v[i] = 0;
      u[i] = 0;
      taken++;
    }
  }
  return { packed, decoded };
}

function encodeTopk(grad: Float32Array, ratio: number, state: CodecState): Encoded {
  const n = grad.length;
  const acc = (state.residual ??= new Float32Array(n));
  for (let i = 0; i < n; i++) acc[i] += grad[i];
  const k = topkK(n, ratio);
  const { packed, values, indices } = sparsePayload(k, 'u32');
  const decoded = new Float32Array(n);
  const magnitudes = new Float32Array(n);
  for (let i = 0; i < n; i++) magnitudes[i] = Math.abs(acc[i]);
  const threshold = kthLargest(magnitudes, k);
  // everything above the k-th largest magnitude, then entries equal to it in index order, until k are taken
  let above = 0;
  for (let i = 0; i < n; i++) if (Math.abs(acc[i]) > threshold) above++;
  let ties = k - above;
  let taken = 0;
  for (let i = 0; i < n && taken < k; i++) {
    const m = Math.abs(acc[i]);
    if (m > threshold || (m === threshold && ties-- > 0)) {
      values[taken] = acc[i];
      indices[taken] = i;
      decoded[i] = acc[i];
      acc[i] = 0;
      taken++;
    }
  }
  return { packed, decoded };
}

/** A sum of sparse messages, or a selection passed on: its entries (nonzero, or a sent zero marked -0) in index order, up to `slots`. */
function encodeNonzeros(sum: Float32Array, slots: number, kind: IndexKind): Encoded {
  const { packed, values, indices } = sparsePayload(slots, kind);
  const decoded = new Float32Array(sum.length);
  let taken = 0;
  for (let i = 0; i < sum.length && taken < slots; i++) {
    if (wasSent(sum[i])) {
      values[taken] = sum[i];
      indices[taken] = i;
      decoded[i] = sum[i];
      taken++;
    }
  }
  return { packed, decoded };
}

/** The k-th largest of `values` (1 <= k <= length), by selection (values is reordered). */
export function kthLargest(values: Float32Array, k: number): number {
  let lo = 0, hi = values.length - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (values[i] > pivot) i++;
      while (values[j] < pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return values[target];
}
