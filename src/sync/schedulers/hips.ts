/**
 * GeoMX's Hierarchical Parameter Server (HiPS), with fully synchronous
 * aggregation (FSA, GeoMX's default `dist_sync`) and several global
 * servers (MultiGPS), as github INET-RC/GeoMX's code does it:
 *
 * - Layout: each data center's node is its local server (one per data
 *   center: the only layout the code supports); the global server(s) sit at
 *   `global_at`, whose local server they also are (GeoMX's central party:
 *   a process that is both, DMLC_ROLE_GLOBAL=global_server with
 *   DMLC_ROLE=server).
 * - Keys: ps-lite's rule over the global servers (3rdparty/ps-lite
 *   src/postoffice.cc GetServerKeyRanges; src/kvstore/kvstore_dist_server.h
 *   KVStoreDistServer::EncodeDefaultKey), as star's over its servers
 *   (keyPartChunks): one message per key part.
 * - Push: a worker pushes every key to its local server, which sums its
 *   workers' pushes (no optimizer there) and pushes the sum to the global
 *   server(s) holding the key's parts (kvstore_dist_server.h
 *   DataHandleSyncDefault, DataPushToGlobalServersDefault); a global server
 *   sums every data center's push and runs the optimizer.
 * - Pull (Plan.pullAfterAck): a push is acknowledged once its part is
 *   final where it went; a node asks for a key (an 8-byte key per server,
 *   as ps-lite's KVWorker::Pull_) once every part it pushed is
 *   acknowledged, and is answered then. So a local server pulls a key only
 *   after every global server holding a part acknowledged
 *   (DataHandlePushResponseDefault, DataPullFromGlobalServersDefault), and
 *   its workers ask only once it holds the whole key (GeoMX acknowledges
 *   the key then, DataHandlePullResponseDefault; geobed acknowledges each
 *   part as it holds it, and a worker asks once all are: the same time);
 *   a worker's pull waits behind its push
 *   on the same buffer (MXNet kvstore_dist.h PullImpl: "use the same array
 *   for merging to guarantee that pull always happens after the previous
 *   push on this key"), and is answered from the local server's copy.
 *   Every worker waits for the global round every iteration.
 * A data center with one worker is its own local server (no LAN hop).
 */
import { z } from 'zod';
import type { DataCenter } from '../../model/data-centers.js';
import type { ModelArray } from '../../model/profiles.js';
import { chunkArrays, treeFromParents, type Plan, type Tree } from '../plan.js';
import type { Policy } from '../policy.js';
import { common, defineScheduler, nodeName } from './definition.js';
import { keyPartChunks } from './star.js';
import { sparsifiedWhole, STELLATRAIN_ONLY } from '../compression/stage.js';

const hfaSpec = z.strictObject({
  k1: z.number().int().min(1, 'at least 1').max(1_000_000).default(20).describe('iterations between averagings within a data center (MXNET_KVSTORE_HFA_K1; GeoMX\'s scripts and docs: 20)'),
  k2: z.number().int().min(1, 'at least 1').max(1_000_000).default(10).describe('averagings within a data center per averaging across data centers (MXNET_KVSTORE_HFA_K2; scripts and docs: 10)'),
});

const p3Spec = z.strictObject({
  slice_elements: z.number().int().positive().max(1e9).default(1_000_000).describe('elements per slice (MXNET_KVSTORE_BIGARRAY_BOUND, which P3_EncodeDefaultKey slices by; default 1,000,000)'),
});

const dgtSpec = z.strictObject({
  block_kb: z.number().int().min(1, 'at least 1').max(1_048_576).default(4).describe('block size in KiB (DGT_BLOCK_SIZE, 4096 bytes)'),
  k: z.number().gt(0, 'above 0').max(1, 'at most 1').default(0.8).describe('share of blocks sent as important (DMLC_K: 0.8 in GeoMX\'s docs and scripts, 0.5 where unset)'),
  alpha: z.number().min(0, 'at least 0').lt(1, 'below 1').default(0.3).describe('weight of the previous contribution (DGT_CONTRI_ALPHA, 0.3)'),
  blocks_per_message: z.number().int().min(1, 'at least 1').max(1_000_000).default(64)
    .describe('consecutive blocks of one class travel as one geobed message of at most this many blocks (bytes: theirs summed); 1: a message per block as GeoMX sends them'),
});

const dcasgdSpec = z.strictObject({
  lambda: z.number().min(0, 'at least 0').max(1e6).default(0.04).describe('the delay compensation\'s scale (MXNet\'s DCASGD lamda; default 0.04)'),
});

export const hipsSpec = z.strictObject({
  name: z.literal('hips'),
  ...common,
  global_servers: z.number().int().min(1, 'at least 1').default(1)
    .describe('MultiGPS: the number of global servers (DMLC_NUM_GLOBAL_SERVER); keys are placed over them by ps-lite\'s rule'),
  global_at: z.union([nodeName, z.array(nodeName).min(1)]).optional()
    .describe('the data center holding every global server (GeoMX\'s central party), or one data center per global server; default: the first data center'),
  bigarray_bound: z.number().int().positive().default(1_000_000)
    .describe('arrays with at least this many elements are split over the global servers (MXNET_KVSTORE_BIGARRAY_BOUND)'),
  sync: z.enum(['fsa', 'mixed', 'hfa']).default('fsa')
    .describe('fsa: fully synchronous aggregation (GeoMX\'s dist_sync): every worker waits for the global round every iteration; mixed: MixedSync (dist_async): synchronous within a data center, asynchronous across (the global server applies each data center\'s sum on arrival); hfa: hierarchical frequency aggregation (examples/cnn_hfa.py): local steps, parameters averaged in each data center every k1 iterations and across data centers every k2-th time'),
  hfa: hfaSpec.optional().describe('sync: hfa\'s periods'),
  dcasgd: dcasgdSpec.optional().describe('sync: mixed with DC-ASGD at the global server (examples/cnn.py --dcasgd) instead of the training\'s optimizer'),
  priority: z.literal('p3').optional()
    .describe('p3: GeoMX\'s ENABLE_P3: arrays cut into slices, a worker\'s slices pushed input-side layers first, the push acknowledgement carries the updated slice, and the next forward pass of a layer starts once its slices are back'),
  p3: p3Spec.optional().describe('priority: p3\'s slice size'),
  dgt: dgtSpec.optional().describe('GeoMX\'s DGT (ENABLE_DGT=2) on the pushes across data centers: blocks by contribution, important ones first, late blocks into the next round'),
}).describe('GeoMX\'s hierarchical parameter server: local servers per data center, global server(s)');

export type HipsOptions = Omit<z.output<typeof hipsSpec>, 'name' | 'label'>;

/** priority: p3's settings, the schema's defaults where the scenario gives none. */
export function p3Options(options: Pick<HipsOptions, 'p3'>): z.output<typeof p3Spec> {
  return options.p3 ?? p3Spec.parse({});
}

/** The node of each global server. */
export function globalServers(dataCenters: DataCenter[], options: Pick<HipsOptions, 'global_servers' | 'global_at'>): string[] {
  const at = options.global_at ?? dataCenters[0].name;
  return Array.isArray(at) ? at : new Array(options.global_servers).fill(at);
}

/**
 * The aggregation tree of a global server at `root`: every data center
 * with workers under it (its node is its local server), every worker of a
 * data center with several under its data center's node.
 */
export function hipsTree(dataCenters: DataCenter[], root: string): Tree {
  const parent = new Map<string, string>();
  for (const dc of dataCenters) {
    if (dc.workers.length === 0) continue;
    if (dc.name !== root) parent.set(dc.name, root);
    if (dc.workers.length > 1) for (const w of dc.workers) parent.set(w, dc.name);
  }
  return treeFromParents(root, parent);
}

export function hipsPlan(dataCenters: DataCenter[], arrays: ModelArray[], options: HipsOptions, bytesPerElement = 4): Plan {
  const servers = globalServers(dataCenters, options);
  const plan: Plan = {
    version: 1,
    trees: servers.map((s) => hipsTree(dataCenters, s)),
    chunks: keyPartChunks(arrays, servers.length, options.bigarray_bound, Infinity, bytesPerElement, (elements) => sparsifiedWhole(options.compression, elements)),
    pullAfterAck: true,
  };
  if (options.dgt) {
    const d = options.dgt;
    plan.dgt = { blockBytes: d.block_kb * 1024, k: d.k, alpha: d.alpha, blocksPerMessage: d.blocks_per_message };
  }
  return options.priority === 'p3' ? p3Plan(plan, arrays, options, bytesPerElement) : plan;
}

/**
 * P3 (GeoMX ENABLE_P3; src/kvstore/kvstore_dist.h P3_EncodeDefaultKey,
 * PushDefault's and PullImpl's P3 branches; 3rdparty/ps-lite kv_app.h
 * KVWorker::P3_ZPush, van.cc PushToSenderQueue): every array cut into
 * slices of `slice_elements`, each its own ps-lite key (sequential); a
 * worker pushes each slice through a sender queue ordered by the push's
 * priority, which the training script sets to minus the array's index
 * (input-side layers first); the local server's acknowledgement carries
 * the updated slice, and the worker pulls nothing. The local server's
 * pushes to the global server are not prioritised, and it still pulls
 * after their acknowledgement, per slice. One global server (checked).
 */
function p3Plan(plan: Plan, arrays: ModelArray[], options: HipsOptions, bytesPerElement: number): Plan {
  const chunks = chunkArrays(arrays, p3Options(options).slice_elements, bytesPerElement).map((c) => ({ ...c, key: c.id }));
  return { ...plan, chunks, ackCarriesValue: 'lan', sendOrder: 'input-layers-first' };
}

/**
 * MixedSync (dist_async; kvstore_dist_server.h DataHandleAsyncDefault,
 * ApplyUpdates with sync_mode false): the HiPS tree, each local server
 * still summing its workers' pushes, but a global server applies each data
 * center's sum on arrival and acknowledges that data center alone, which
 * then pulls the model as it is (Plan.asynchronous).
 */
export function mixedPlan(dataCenters: DataCenter[], arrays: ModelArray[], options: HipsOptions, bytesPerElement = 4): Plan {
  const plan = hipsPlan(dataCenters, arrays, options, bytesPerElement);
  return {
    ...plan,
    chunks: plan.chunks.map((c) => ({ ...c, value: 'model' as const })),
    asynchronous: { workers: new Map(dataCenters.filter((dc) => dc.workers.length > 0).map((dc) => [dc.name, dc.workers.length])) },
  };
}

/** What HFA does at the end of (0-based) iteration `iteration`: a local step only, averaging within each data center, or across data centers too. */
export function hfaRound(iteration: number, k1: number, k2: number): 'none' | 'lan' | 'wan' {
  const step = iteration + 1;
  if (step % k1 !== 0) return 'none';
  return (step / k1) % k2 === 0 ? 'wan' : 'lan';
}

/**
 * HFA's three plans (examples/cnn_hfa.py; kvstore_dist_server.h
 * DataHandleSyncDefault's K2 branch, HandleHFAAccumulate): between rounds
 * none (every worker steps its local optimizer); a round within data
 * centers, each worker pushing its parameters / n_w to its local server
 * and pulling the data center's average back (a tree per data center, as
 * dist_sync does: pulls after acknowledgements); and every k2-th round
 * across data centers too, the HiPS tree, each worker's parameters scaled
 * by 1 / (n_w G) so that the global sum is the mean of the G data centers'
 * averages: GeoMX's milestone + sum of (average - milestone) / G, the same
 * model up to fp32 rounding (docs/schedulers.md).
 */
export function hfaPlans(dataCenters: DataCenter[], arrays: ModelArray[], options: HipsOptions, bytesPerElement = 4): Record<'none' | 'lan' | 'wan', Plan> {
  const withWorkers = dataCenters.filter((dc) => dc.workers.length > 0);
  const lanTrees = withWorkers.map((dc) => treeFromParents(dc.name, new Map(dc.workers.length > 1 ? dc.workers.map((w) => [w, dc.name]) : [])));
  const lanChunks = lanTrees.flatMap((_, tree) => arrays.map((a, array) => ({ array, offset: 0, elements: a.elements, bytes: a.elements * bytesPerElement, tree })))
    .map((c, id) => ({ id, ...c, value: 'weighted-sum' as const }));
  const scale = (within: (dc: DataCenter) => number) => new Map(withWorkers.flatMap((dc) => dc.workers.map((w) => [w, 1 / within(dc)] as [string, number])));
  const wan = hipsPlan(dataCenters, arrays, options, bytesPerElement);
  return {
    none: { version: 1, trees: [], chunks: [] },
    lan: { version: 2, trees: lanTrees, chunks: lanChunks, pullAfterAck: true, scale: scale((dc) => dc.workers.length) },
    wan: { ...wan, version: 3, chunks: wan.chunks.map((c) => ({ ...c, value: 'weighted-sum' as const })), scale: scale((dc) => dc.workers.length * withWorkers.length) },
  };
}

export const hips = defineScheduler(hipsSpec, {
  nodeFields: ['global_at'],
  // it places its own local servers and workers (data centers are its two levels)
  level: 'workers',
  compression: {
    placement: 'levels',
    refuse: (o, method) => {
      if (o.priority === 'p3') return 'priority: p3 pushes dense fp32 slices (GeoMX\'s P3 branch of PushDefault; geobed does not combine it with compression)';
      if (o.dgt) return 'dgt cuts dense keys into blocks (KVServer::Send takes its DGT branch for kDefaultPushPull requests only); geobed does not combine it with compression';
      if (o.sync === 'mixed') {
        return method === 'bisparse' || method === 'mpq'
          ? 'sync: mixed has no Bi-Sparse: GeoMX\'s asynchronous handler for it is empty (kvstore_dist_server.h DataHandleAsyncBSCompressed)'
          : `sync: mixed steps the optimizer at the global server; GeoMX compresses (examples/cnn_fp16.py, cnn_bsc.py, cnn_mpq.py) with dist_sync and the optimizer at the workers`;
      }
      if (o.sync === 'hfa') return 'sync: hfa exchanges parameters, not gradients (examples/cnn_hfa.py compresses nothing)';
      return method === 'thresholdv16' ? STELLATRAIN_ONLY : null;
    },
  },
  check: (o, run) => {
    const problems = [];
    if (o.global_servers > run.nodes.length) {
      problems.push({ path: ['global_servers'], message: `at most ${run.nodes.length}, the number of data centers (each global server sits at a data center's node)` });
    }
    if (o.hfa && o.sync !== 'hfa') problems.push({ path: ['hfa'], message: `hfa's periods are for sync: hfa (this scheduler has sync: ${o.sync})` });
    if (o.dcasgd && o.sync !== 'mixed') problems.push({ path: ['dcasgd'], message: `DC-ASGD is the global server's optimizer under sync: mixed (this scheduler has sync: ${o.sync})` });
    if (o.p3 && o.priority !== 'p3') problems.push({ path: ['p3'], message: 'the slice size is for priority: p3 (this scheduler has no priority)' });
    const priorities = [
      ...(o.priority === 'p3' ? [{ field: 'priority', what: 'priority: p3', oneServer: 'geobed places P3\'s slices on one global server' }] : []),
      ...(o.dgt ? [{ field: 'dgt', what: 'dgt', oneServer: 'KVServer::Send puts the whole value in the blocks of every part of a split key: GeoMX\'s DGT cannot carry MultiGPS' }] : []),
    ];
    for (const { field, what, oneServer } of priorities) {
      if (o.sync !== 'fsa') problems.push({ path: [field], message: `${what} is built for sync: fsa (GeoMX's scripts run it with dist_sync; this scheduler has sync: ${o.sync})` });
      if (o.global_servers > 1) problems.push({ path: [field], message: `${what} with one global server only (${oneServer})` });
    }
    if (o.priority === 'p3' && o.dgt) problems.push({ path: ['dgt'], message: 'priority: p3 and dgt together: geobed runs one at a time (no GeoMX script combines them)' });
    if (Array.isArray(o.global_at) && o.global_at.length !== o.global_servers) {
      problems.push({ path: ['global_at'], message: `lists ${o.global_at.length} data centers for ${o.global_servers} global server(s): give one data center (every global server there) or one per global server` });
    }
    return problems;
  },
  policy: (o) => hipsPolicy(o),
  layered: (o) => o.priority === 'p3',
  averaging: (o) => (o.sync === 'hfa' ? hfaPeriods(o) : null),
  asynchronous: (o, run) => (o.sync === 'mixed' ? { servers: [...new Set(globalServers(run.dataCenters, o))], dcasgd: o.dcasgd ?? null } : null),
});

export function hipsPolicy(options: HipsOptions): Policy {
  let plan: Plan | null = null;
  let hfa: Record<'none' | 'lan' | 'wan', Plan> | null = null;
  return {
    currentPlan: (ctx) => {
      if (options.sync === 'mixed') return (plan ??= mixedPlan(ctx.dataCenters, ctx.arrays, options, ctx.bytesPerElement));
      if (options.sync !== 'hfa') return (plan ??= hipsPlan(ctx.dataCenters, ctx.arrays, options, ctx.bytesPerElement));
      hfa ??= hfaPlans(ctx.dataCenters, ctx.arrays, options, ctx.bytesPerElement);
      const { k1, k2 } = hfaPeriods(options);
      return hfa[hfaRound(ctx.iteration ?? 0, k1, k2)];
    },
  };
}

/** sync: hfa's periods, the schema's defaults (the scripts') where the scenario gives none. */
export function hfaPeriods(options: Pick<HipsOptions, 'hfa'>): { k1: number; k2: number } {
  return options.hfa ?? hfaSpec.parse({});
}
