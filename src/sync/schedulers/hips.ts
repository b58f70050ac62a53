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
 *   acknowledges its workers only once it holds the whole key
 *   (DataHandlePullResponseDefault); a worker's pull waits behind its push
 *   on the same buffer (MXNet kvstore_dist.h PullImpl: "use the same array
 *   for merging to guarantee that pull always happens after the previous
 *   push on this key"), and is answered from the local server's copy.
 *   Every worker waits for the global round every iteration.
 * A data center with one worker is its own local server (no LAN hop).
 */
import { z } from 'zod';
import type { DataCenter } from '../../model/data-centers.js';
import type { ModelArray } from '../../model/profiles.js';
import { treeFromParents, type Plan, type Tree } from '../plan.js';
import type { Policy } from '../policy.js';
import { common, defineScheduler, nodeName } from './definition.js';
import { keyPartChunks } from './star.js';

export const hipsSpec = z.strictObject({
  name: z.literal('hips'),
  ...common,
  global_servers: z.number().int().min(1, 'at least 1').default(1)
    .describe('MultiGPS: the number of global servers (DMLC_NUM_GLOBAL_SERVER); keys are placed over them by ps-lite\'s rule'),
  global_at: z.union([nodeName, z.array(nodeName).min(1)]).optional()
    .describe('the data center holding every global server (GeoMX\'s central party), or one data center per global server; default: the first data center'),
  bigarray_bound: z.number().int().positive().default(1_000_000)
    .describe('arrays with at least this many elements are split over the global servers (MXNET_KVSTORE_BIGARRAY_BOUND)'),
  sync: z.enum(['fsa']).default('fsa').describe('fsa: fully synchronous aggregation (GeoMX\'s dist_sync): every worker waits for the global round every iteration'),
}).describe('GeoMX\'s hierarchical parameter server: local servers per data center, global server(s)');

export type HipsOptions = Omit<z.output<typeof hipsSpec>, 'name' | 'label'>;

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
  return {
    version: 1,
    trees: servers.map((s) => hipsTree(dataCenters, s)),
    chunks: keyPartChunks(arrays, servers.length, options.bigarray_bound, Infinity, bytesPerElement),
    pullAfterAck: true,
  };
}

export const hips = defineScheduler(hipsSpec, {
  nodeFields: ['global_at'],
  // it places its own local servers and workers (data centers are its two levels)
  level: 'workers',
  check: (o, run) => {
    const problems = [];
    if (o.global_servers > run.nodes.length) {
      problems.push({ path: ['global_servers'], message: `at most ${run.nodes.length}, the number of data centers (each global server sits at a data center's node)` });
    }
    if (Array.isArray(o.global_at) && o.global_at.length !== o.global_servers) {
      problems.push({ path: ['global_at'], message: `lists ${o.global_at.length} data centers for ${o.global_servers} global server(s): give one data center (every global server there) or one per global server` });
    }
    return problems;
  },
  policy: (o) => hipsPolicy(o),
});

export function hipsPolicy(options: HipsOptions): Policy {
  let plan: Plan | null = null;
  return {
    currentPlan: (ctx) => (plan ??= hipsPlan(ctx.dataCenters, ctx.arrays, options, ctx.bytesPerElement)),
  };
}
