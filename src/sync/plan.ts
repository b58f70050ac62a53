/**
 * A synchronization plan: how each chunk of the gradient is aggregated and
 * handed back. A chunk either belongs to a tree, or (tree -1) is scheduled
 * online by the coordinator (TSEngine). A tree has a root (where the update
 * is applied), an aggregation in-tree (each node's parent), and a broadcast
 * out-tree (each node's children). Edges are logical: a message to a parent
 * that is not a neighbour follows the underlay route.
 */

import type { Codec } from './compression/codecs.js';

export interface Tree {
  root: string;
  /** node -> the next node towards the root when aggregating. */
  parent: Map<string, string>;
  /** node -> number of nodes whose parent it is (contributions it waits for, besides its own). */
  upChildren: Map<string, number>;
  /** node -> the nodes it forwards the final value to. */
  children: Map<string, string[]>;
}

export interface ChunkPlan {
  id: number;
  /** Index of the model array this chunk is cut from. */
  array: number;
  /** First element of the chunk within its array. */
  offset: number;
  elements: number;
  bytes: number;
  /** Index into `Plan.trees`, or -1 for a chunk the coordinator schedules online. */
  tree: number;
  /**
   * What the final value is, when not the plain sum of the contributions:
   * a weighted sum (contributions scaled as Plan.scale says), the model
   * a server holds after applying them (Plan.asynchronous), the sum of
   * compressed contributions (ChunkPlan.codecs), or one node's compressed
   * contribution handed to every other (`gathered`: a sparse all-gather,
   * whose workers add up the gathered chunks themselves).
   */
  value?: 'weighted-sum' | 'model' | 'compressed' | 'gathered';
  /** How this chunk's messages are compressed (sync/compression/stage.ts); absent: fp32 on every hop. */
  codecs?: ChunkCodecs;
  /**
   * The key it is a part of, where keys are not the model's arrays (P3's
   * slices: each its own ps-lite key): what pulls after acknowledgements
   * and per-key pulls go by. Absent: its array.
   */
  key?: number;
}

/** The key a chunk is a part of (ChunkPlan.key). */
export function keyOf(chunk: ChunkPlan): number {
  return chunk.key ?? chunk.array;
}

/** A chunk's codecs on one kind of hop, towards the root (up) and back (down; one that keeps no sender state: a final value is encoded once for every child); absent: fp32. */
export interface HopCodecs {
  up?: Codec;
  down?: Codec;
}

/**
 * A chunk's codecs by hop: within a data center (`lan`: a worker and its
 * data center's node) or between nodes of different data centers (`wan`).
 * `atRoot`: what a tree's root passes through the up codec itself, as it
 * sends nothing up: its own worker's contribution (`source`: the worker
 * compresses what it contributes, wherever it is), or its data center's sum
 * (`data-center`: GeoMX's central party, a local server pushing to the
 * global server in the same process). `half`: values are binary16 from
 * their source on, and every sum is rounded to binary16 after each
 * addition (a float16 server's sum).
 */
export interface ChunkCodecs {
  lan: HopCodecs;
  wan: HopCodecs;
  atRoot: 'source' | 'data-center';
  half?: boolean;
}

/** NetStorm's multipath auxiliary transmission, as the agents apply it (paths by `Plan.linkCost`). */
export interface MultipathConfig {
  /** Divert when the main next hop holds more than this many messages... */
  mainQueueAbove: number;
  /** ...to an auxiliary path whose first hop holds fewer than this many. */
  auxQueueBelow: number;
  /** Count only messages waiting behind the one being sent (NetStorm's van), or that one too. */
  countWaitingOnly: boolean;
  /** At most this many paths per hop, the main one included (Infinity: every node-disjoint path). */
  maxPaths: number;
}

/** Passive measurement, as the receiving agents apply it. */
export interface MeasureConfig {
  /** Measure messages of at least this many bytes... */
  thresholdBytes: number;
  /** ...and report, per sender, once this many are measured: */
  window: number;
  /** their total bytes over their total time (NetStorm's van), or the mean of their rates. */
  aggregate: 'bytes-over-time' | 'mean-rate';
  /**
   * What is reported: Mbit/s, or (TSEngine's code) the whole seconds' inverse
   * of each final-value message's time from hand-over to arrival, of every
   * size, down messages only (see sync/schedulers/tsengine.ts).
   */
  metric: 'mbps' | 'inverse-seconds';
}

export interface Plan {
  /** Increases with every new plan a scheduler makes. */
  version: number;
  trees: Tree[];
  chunks: ChunkPlan[];
  /** Cost of each directed link (1 / estimated throughput), by link id: the scheduler's view, for auxiliary and relay paths. */
  linkCost?: number[];
  multipath?: MultipathConfig;
  measure?: MeasureConfig;
  /**
   * Per-key blocking pulls (MXNET as its trainer drives it): a worker asks
   * for key k+1 only once every part of key k has arrived, and a root sends
   * a key's final value to a worker only once that worker asked for it.
   */
  pullPerKey?: boolean;
  /**
   * Pulls after acknowledgements (GeoMX's trainer: each key pushed, then
   * pulled, the pull waiting behind the push): a node that holds a chunk's
   * final value acknowledges its tree children's pushes (a message of no
   * payload); a node asks its parent(s) for a key once every part it
   * pushed is acknowledged, and is answered with the parts it pushed.
   */
  pullAfterAck?: boolean;
  /**
   * A scheduler over data centers, where data centers hold several
   * workers (sync/local-stage.ts): each such worker's data center node, and
   * each such data center's workers. Tree chunks carry it in their trees
   * (the workers are leaves under their data center); online chunks need
   * the agents to gather and hand back locally.
   */
  local?: LocalStage;
  /**
   * Each worker's contribution is multiplied by its factor here before it
   * leaves (HFA's parameter averaging: 1/n_w within a data center, and
   * 1/(n_w G) across G data centers); absent: contributions as they are.
   */
  scale?: Map<string, number>;
  /**
   * Asynchronous across data centers (GeoMX's MixedSync): a tree's root
   * applies each data center's contribution on its own, as it arrives (its
   * ServerModel), and answers that data center alone, with the model as it
   * is when asked; a data center's workers still sum first. `workers`: each
   * data center's number of workers (an update's contributors).
   */
  asynchronous?: { workers: Map<string, number> };
  /**
   * For online chunks: the node where the aggregate completes, and how many
   * contributions make it complete. `within` (two levels, GeoMX's TSEngine
   * inside and across data centers): each data center node with several
   * workers -> its number of workers; its workers merge among themselves
   * and into it, and it takes part across data centers once it holds them
   * all. (Without it, a local stage gathers plainly: Plan.local.)
   */
  online?: { root: string; contributors: number; within?: Map<string, number> };
  /**
   * Bounded staleness (StellaTrain, 1): a worker computes iteration i + 1
   * once its gradient of i is ready and iteration i - 1 has ended, so the
   * compute overlaps iteration i's exchange; iterations still end (and
   * their updates apply) in order. Absent: each iteration after the last.
   */
  staleness?: 1;
  /**
   * The order a sender's queued messages leave in, where not FIFO:
   * `iteration-then-array`, the smallest iteration x 1000 + array index
   * first (StellaTrain's send queue with PRIORITY_TX, engine/comm_manager.cpp
   * queueTx: older iterations, then input-side layers, first).
   */
  sendOrder?: 'iteration-then-array' | 'input-layers-first';
  /**
   * Pulls after acknowledgements, but within a data center the
   * acknowledgement of a worker's push carries the final value (P3: GeoMX's
   * local server answers a P3 push with the updated slice, and the worker
   * pulls nothing): workers wait for no ack and send no pull.
   */
  ackCarriesValue?: 'lan';
  /** DGT on the pushes across data centers (sync/dgt.ts). */
  dgt?: DgtConfig;
}

/**
 * GeoMX's DGT (3rdparty/ps-lite include/ps/kv_app.h KVServer::Send's DGT
 * branch, EvalMsgContribution, GetChannel; src/van.cc Classifier,
 * Important_scheduler, Unimportant_scheduler, ProcessDataMsg), in its mode
 * 2 (every block over the same TCP connection): a push of a dense key from
 * a data center's node to a global server is cut into blocks of
 * `blockBytes`; per block a contribution c <- alpha c + (1 - alpha) mean|g|;
 * blocks with c = 0 are not sent (but the last); of the rest (but the
 * last), the round(k n) of highest c are important, the others
 * unimportant, sent only while no important one waits; the last block is
 * important. The server takes the push when its last block arrives (blocks
 * not in yet count as zero) and adds a block that arrives later into the
 * next round's.
 */
export interface DgtConfig {
  blockBytes: number;
  k: number;
  alpha: number;
  /** Consecutive blocks of one class travel as one message of at most this many blocks (its bytes theirs summed). */
  blocksPerMessage: number;
}

export interface LocalStage {
  /** worker node -> its data center's node */
  parent: Map<string, string>;
  /** data center node -> its workers' nodes */
  children: Map<string, string[]>;
}

/** Build a tree from each participating node's parent (the root has none); broadcast goes back down the same edges. */
export function treeFromParents(root: string, parent: Map<string, string>): Tree {
  const upChildren = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const [child, p] of parent) {
    upChildren.set(p, (upChildren.get(p) ?? 0) + 1);
    if (!children.has(p)) children.set(p, []);
    children.get(p)!.push(child);
  }
  return { root, parent, upChildren, children };
}

/** A tree in which every listed contributor sends straight to the root, and the root sends straight back. */
export function starTree(root: string, contributors: string[]): Tree {
  const others = contributors.filter((n) => n !== root);
  return treeFromParents(root, new Map(others.map((n) => [n, root])));
}

/** Split `elements` into consecutive pieces of at most `max`. */
export function cutIntoChunks(elements: number, max: number): number[] {
  const pieces: number[] = [];
  for (let done = 0; done < elements; done += max) pieces.push(Math.min(max, elements - done));
  return pieces;
}

/** Every array cut into chunks of at most `maxElements`, in array order, all on tree 0. */
export function chunkArrays(arrays: { elements: number }[], maxElements: number, bytesPerElement: number): ChunkPlan[] {
  const chunks: ChunkPlan[] = [];
  arrays.forEach((a, array) => {
    let offset = 0;
    for (const elements of cutIntoChunks(a.elements, maxElements)) {
      chunks.push({ id: chunks.length, array, offset, elements, bytes: elements * bytesPerElement, tree: 0 });
      offset += elements;
    }
  });
  return chunks;
}
