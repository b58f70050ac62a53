/**
 * The compression stage: a scheduler's `compression:` option, and the
 * codecs it puts on a plan's chunks (ChunkPlan.codecs), where the method's
 * own code applies them.
 *
 * - `every-hop` (star, ring, mlnet, netstorm): fp16 on every message; top-k
 *   on every message towards a root (each sender with its own residual: a
 *   worker's gradient, an aggregating node's sum), and the root's sum sent
 *   back as its nonzeros (at most k per contribution summed: nothing lost).
 * - `levels` (hips), as GeoMX applies them: fp16 on every hop (the
 *   training script's dtype); Bi-Sparse between local and global servers
 *   only, on arrays of at least `min_elements`, workers pushing and pulling
 *   dense fp32 (kvstore_dist_server.h DataPushToGlobalServersBSCompressed,
 *   DataHandleSyncBSCompressed, DefaultStorageResponse); MPQ per array:
 *   larger than `min_elements` as Bi-Sparse, the others fp16 on every hop
 *   (examples/cnn_mpq.py); top-k where Bi-Sparse is, the same baseline at
 *   the same place.
 */
import { z } from 'zod';
import type { ChunkCodecs, ChunkPlan, Plan } from '../plan.js';
import type { Measurement, Policy, PolicyContext } from '../policy.js';
import { isLossy, type Codec } from './codecs.js';

const ratio = z.number().gt(0, 'greater than 0').max(1, 'at most 1');

const bisparseOptions = z.strictObject({
  ratio: ratio.default(0.01).describe('the fraction of elements sent, rho (GeoMX\'s "threshold"; 0.01 in its docs and examples, 0.5 its parameter\'s default)'),
  min_elements: z.number().int().min(1, 'at least 1').default(1000).describe('arrays smaller than this stay dense (MXNET_KVSTORE_SIZE_LOWER_BOUND: 1,000 in GeoMX\'s scripts, 200,000 the server\'s default)'),
});

export const COMPRESSION_METHODS = ['fp16', 'bisparse', 'mpq', 'topk', 'thresholdv16'] as const;
export type CompressionMethod = (typeof COMPRESSION_METHODS)[number];

const methods = z.strictObject({
  fp16: z.strictObject({}).optional().describe('IEEE binary16 values on every hop (GeoMX examples/cnn_fp16.py)'),
  bisparse: bisparseOptions.optional().describe('GeoMX\'s Bi-Sparse between local and global servers (hips only)'),
  mpq: bisparseOptions.optional().describe('GeoMX\'s mixed-precision quantization: large arrays Bi-Sparse between the levels, small ones fp16 everywhere (hips only)'),
  topk: z.strictObject({
    ratio: ratio.default(0.01).describe('the fraction of each message\'s elements sent: k = max(1, floor(N ratio))'),
  }).optional().describe('the k largest |gradient + residual| with error feedback (Deep Gradient Compression\'s sparsification)'),
  thresholdv16: z.strictObject({
    cr: z.number().min(0, 'at least 0').lt(1, 'less than 1 (the fraction of elements dropped)').default(0.99)
      .describe('the compression ratio: the fraction dropped; each of W nodes sends max(1, floor(N (1 - cr) / W)) (0.99 the engine\'s default, 0.95 its test script)'),
  }).optional().describe('StellaTrain\'s cache-aware threshold selection in blocks of 16 (stellatrain only)'),
});

export const compressionSpec = z.preprocess(
  (v) => (typeof v === 'string' ? { [v]: {} } : v),
  methods.refine((o) => Object.keys(o).length === 1, `give exactly one method: ${COMPRESSION_METHODS.join(', ')}`),
).describe(`gradient compression: ${COMPRESSION_METHODS.join(', ')} (a name, or { method: { options } })`);

export type Compression = z.output<typeof compressionSpec>;

/** Where a scheduler's compression applies (`own`: its plan carries its codecs itself). */
export type CompressionPlacement = 'every-hop' | 'levels' | 'own';

export function compressionMethod(compression: Compression): CompressionMethod {
  return Object.keys(compression)[0] as CompressionMethod;
}

/** What the plan's roots and data centers are, for the codecs' sizes. */
export interface StageFacts {
  /** Nodes with a worker. */
  workers: ReadonlySet<string>;
  /** Data centers with workers (GeoMX's global workers: Bi-Sparse's pull multiplier). */
  dataCenters: number;
}

/** The plan with each chunk's codecs. */
export function compressPlan(plan: Plan, compression: Compression, placement: CompressionPlacement, facts: StageFacts): Plan {
  const method = compressionMethod(compression);
  const chunks = plan.chunks.map((c) => {
    const codecs = chunkCodecs(plan, c, compression, method, placement, facts);
    if (!codecs) return c;
    const lossy = [codecs.lan.up, codecs.lan.down, codecs.wan.up, codecs.wan.down].some((k) => k && isLossy(k));
    return { ...c, codecs, ...(lossy && !c.value ? { value: 'compressed' as const } : {}) };
  });
  return { ...plan, chunks };
}

const HALF: ChunkCodecs = { lan: { up: { kind: 'fp16' }, down: { kind: 'fp16' } }, wan: { up: { kind: 'fp16' }, down: { kind: 'fp16' } }, atRoot: 'source', half: true };

function chunkCodecs(plan: Plan, chunk: ChunkPlan, compression: Compression, method: CompressionMethod, placement: CompressionPlacement, facts: StageFacts): ChunkCodecs | null {
  if (method === 'fp16') return HALF;
  if (method === 'topk') {
    const r = compression.topk!.ratio;
    const up: Codec = { kind: 'topk', ratio: r };
    if (placement === 'levels') {
      return { lan: {}, wan: { up, down: { kind: 'nonzeros', of: 'topk', ratio: r, contributions: facts.dataCenters } }, atRoot: 'data-center' };
    }
    const tree = plan.trees[chunk.tree];
    const contributions = (tree.upChildren.get(tree.root) ?? 0) + (facts.workers.has(tree.root) ? 1 : 0);
    const hop = { up, down: { kind: 'nonzeros' as const, of: 'topk' as const, ratio: r, contributions } };
    return { lan: hop, wan: hop, atRoot: 'source' };
  }
  // Bi-Sparse and MPQ (levels only: the schedulers' checks refuse them elsewhere)
  const o = (method === 'bisparse' ? compression.bisparse : compression.mpq)!;
  // MPQ's script tests N > bound (examples/cnn_mpq.py); the server sparsifies N >= bound
  const large = method === 'mpq' ? chunk.elements > o.min_elements : chunk.elements >= o.min_elements;
  if (!large) return method === 'mpq' ? HALF : null;
  return { lan: {}, wan: { up: { kind: 'bisparse', ratio: o.ratio }, down: { kind: 'nonzeros', of: 'bisparse', ratio: o.ratio, contributions: facts.dataCenters } }, atRoot: 'data-center' };
}

/** A policy whose plans carry the compression's codecs (each plan converted once). */
export function withCompression(policy: Policy, compression: Compression, placement: CompressionPlacement, facts: StageFacts): Policy {
  const converted = new WeakMap<Plan, Plan>();
  return {
    ...policy,
    currentPlan: (ctx) => {
      const plan = policy.currentPlan(ctx);
      let c = converted.get(plan);
      if (!c) converted.set(plan, (c = compressPlan(plan, compression, placement, facts)));
      return c;
    },
    ...(policy.replan ? { replan: (ctx: PolicyContext) => policy.replan!(ctx) } : {}),
    ...(policy.observe ? { observe: (m: Measurement) => policy.observe!(m) } : {}),
  };
}

/** Arrays Bi-Sparse (or MPQ) sparsifies, which GeoMX never splits over global servers (kvstore_dist_server.h EncodeCompressedKey). */
export function sparsifiedWhole(compression: Compression | undefined, elements: number): boolean {
  if (!compression) return false;
  if (compression.bisparse) return elements >= compression.bisparse.min_elements;
  if (compression.mpq) return elements > compression.mpq.min_elements;
  return false;
}

export const GEOMX_ONLY = 'Bi-Sparse and MPQ are GeoMX\'s, between its local and global servers: use them on hips';
export const STELLATRAIN_ONLY = 'thresholdv16 is StellaTrain\'s, a budget per node over its sparse all-gather: use it on stellatrain';

/** A scheduler that compresses on every hop (fp16, top-k); `sparse`: null if top-k fits it, else why not. */
export function everyHopCompression(sparse: string | null = null): { placement: CompressionPlacement; refuse(options: unknown, method: CompressionMethod): string | null } {
  return {
    placement: 'every-hop',
    refuse: (_o, method) => (method === 'bisparse' || method === 'mpq' ? GEOMX_ONLY : method === 'thresholdv16' ? STELLATRAIN_ONLY : method === 'topk' ? sparse : null),
  };
}
