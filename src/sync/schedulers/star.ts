/**
 * The MXNET / ps-lite parameter server. S servers; an array with at least
 * `bigarray_bound` elements is partitioned over all servers (ps-lite's
 * rounding), a smaller one goes whole to server (key * 9973) mod S
 * (MXNet src/kvstore/kvstore_dist.h, KVStoreDist::EncodeDefaultKey). Workers
 * push to the servers, each server sums the N contributions, and the workers
 * pull the result.
 *
 * As the NetStorm paper's trainer drives it (its defaults): one message per
 * key part (`message: key-part`; KVStoreDist::PushDefault sends each part
 * with one ZPush), and pulls one key at a time, each waiting for the last
 * (`pull: per-key-blocking`; fengwenjiao/netstorm
 * examples/ts-mxnet-app/trainer/mxnet/sync.py, trainer(): kvstore.pull(idx)
 * then temp.wait_to_read() inside the loop over keys, after every push was
 * issued). The idealisations: `message: chunk` cuts parts into messages of
 * at most chunk_elements; `pull: pipelined` has servers send every final
 * value as soon as it is ready.
 */
import { z } from 'zod';
import type { ModelArray } from '../../model/profiles.js';
import { cutIntoChunks, starTree, type ChunkPlan, type Plan } from '../plan.js';
import type { Policy, PolicyContext } from '../policy.js';
import { common, defineScheduler, nodeName } from './definition.js';
import { everyHopCompression } from '../compression/stage.js';

export const starSpec = z.strictObject({
  name: z.literal('star'),
  ...common,
  servers: z.union([z.literal('all'), z.array(nodeName).min(1)]).optional().describe('data centers hosting a parameter server (at the data center\'s node); default: the first; every worker pushes to every server'),
  bigarray_bound: z.number().int().positive().default(1_000_000).describe('arrays larger than this are split over all servers (ps-lite)'),
  message: z.enum(['key-part', 'chunk']).default('key-part').describe('key-part: one message per key part, as ps-lite sends it; chunk: parts cut into messages of at most chunk_elements'),
  pull: z.enum(['per-key-blocking', 'pipelined']).default('per-key-blocking').describe('per-key-blocking: workers pull key by key, each after the previous arrived (the paper\'s MXNET trainer); pipelined: servers send every final value at once'),
}).describe('MXNET / ps-lite parameter servers');

export type StarOptions = Omit<z.output<typeof starSpec>, 'name' | 'label'>;

/** ps-lite's split of a big array over S servers. */
export function psLiteParts(size: number, servers: number): number[] {
  const parts: number[] = [];
  for (let i = 0; i < servers; i++) {
    parts.push(Math.round((size / servers) * (i + 1)) - Math.round((size / servers) * i));
  }
  return parts;
}

export function starPlan(nodes: string[], workers: string[], arrays: ModelArray[], options: StarOptions, bytesPerElement = 4): Plan {
  const servers = options.servers === 'all' ? nodes : options.servers ?? [nodes[0]];
  const trees = servers.map((s) => starTree(s, workers));
  const maxMessage = options.message === 'key-part' ? Infinity : options.chunk_elements;
  const chunks = keyPartChunks(arrays, servers.length, options.bigarray_bound, maxMessage, bytesPerElement);
  return { version: 1, trees, chunks, pullPerKey: options.pull === 'per-key-blocking' ? true : undefined };
}

/**
 * ps-lite's key placement over `servers` servers (MXNet
 * src/kvstore/kvstore_dist.h, KVStoreDist::EncodeDefaultKey): an array
 * under `bigarrayBound` elements goes whole to server (key * 9973) mod S, a
 * larger one is cut into S parts (psLiteParts), part i to server i; each
 * part cut into messages of at most `maxMessage` elements. A chunk's
 * `tree` is its server's index. Arrays `whole` says are never cut (GeoMX's
 * sparsified keys: kvstore_dist_server.h EncodeCompressedKey).
 */
export function keyPartChunks(
  arrays: ModelArray[], servers: number, bigarrayBound: number, maxMessage: number, bytesPerElement: number, whole: (elements: number) => boolean = () => false,
): ChunkPlan[] {
  const chunks: ChunkPlan[] = [];
  const add = (array: number, offset: number, elements: number, server: number) => {
    let at = offset;
    for (const piece of cutIntoChunks(elements, maxMessage)) {
      chunks.push({ id: chunks.length, array, offset: at, elements: piece, bytes: piece * bytesPerElement, tree: server });
      at += piece;
    }
  };
  arrays.forEach((a, key) => {
    if (a.elements < bigarrayBound || whole(a.elements)) {
      add(key, 0, a.elements, (key * 9973) % servers);
    } else {
      let offset = 0;
      psLiteParts(a.elements, servers).forEach((part, server) => {
        add(key, offset, part, server);
        offset += part;
      });
    }
  });
  return chunks;
}

export const star = defineScheduler(starSpec, {
  nodeFields: ['servers'],
  // every worker pushes to every server (a server runs at a data center's node), as ps-lite's workers do
  level: 'workers',
  compression: everyHopCompression(),
  check: (o) => (Array.isArray(o.servers) ? o.servers.flatMap((s, j) => (o.servers!.indexOf(s) !== j ? [{ path: ['servers', j], message: `"${s}" is listed twice` }] : [])) : []),
  policy: (o) => starPolicy(o),
});

export function starPolicy(options: StarOptions): Policy {
  let plan: Plan | null = null;
  return {
    currentPlan(ctx: PolicyContext): Plan {
      plan ??= starPlan(ctx.nodes, ctx.workers, ctx.arrays, options, ctx.bytesPerElement);
      return plan;
    },
  };
}
