/**
 * The node agent: an event-driven state machine, the same in simulated and
 * emulated runs.
 *
 * Tree chunks: gradient ready -> contribute; contribution from a child ->
 * add it in; all contributions in -> send to the parent, or, at the root,
 * the sum is final -> send it down the broadcast tree.
 * Online chunks (TSEngine): tell the coordinator when a buffer is ready, and
 * send or merge as it commands.
 * Every chunk: a message that carries a source route is relayed; a large
 * message is measured (bytes / (arrival - departure)) and, once a window is
 * full, the window's rate is reported. A worker whose every chunk is final
 * starts its next iteration.
 * Per-key pulls (plan.pullPerKey): a worker asks the roots of key k+1 once
 * key k is complete; a root answers a worker's ask once the key is final.
 * On the relay underlay, a message to a node that is not a neighbour goes
 * along a relay path (sync/relay.ts), forwarded whole at every hop.
 */
import type { Clock, Delivery, NodeTransport } from '../net/types.js';
import type { Topology } from '../net/topology.js';
import { keyOf, type ChunkPlan, type MeasureConfig, type Plan, type Tree } from './plan.js';
import type { LayerShares } from './layers.js';
import { dgtMessages, type DgtBlocks, type DgtState } from './dgt.js';
import type { AgentReports, MessageKind } from './record.js';
import type { Measurement, OnlineCommand, OnlineLevel } from './policy.js';
import { auxiliaryPaths } from './multipath.js';
import { relayPath } from './relay.js';
import { dataCenterOfName } from '../model/data-centers.js';
import { codecBytes, decode, encode, type Codec, type CodecState } from './compression/codecs.js';
import { addHalf, roundAllToBinary16 } from './compression/binary16.js';

/** How messages cross the WAN: `ip`, the kernel routes them (cut-through); `relay`, agents forward them between neighbours (store-and-forward). */
export type Underlay = 'ip' | 'relay';

/**
 * Payload of a pull request: ps-lite's KVWorker::Pull_ sends the requested
 * keys only, one 8-byte Key per part (dmlc/ps-lite include/ps/kv_app.h).
 */
export const PULL_REQUEST_BYTES = 8;

export interface ChunkMessage {
  kind: MessageKind;
  iteration: number;
  chunk: number;
  version: number;
  /** Contributions summed into this message (online chunks). */
  count: number;
  values: Float32Array | null;
  /** Source route: the nodes still to cross after the receiver, the last being the destination. */
  via?: string[];
  /** The message travels on an auxiliary path. */
  aux?: boolean;
  /** A pull after acknowledgements to one server (a tree's root) of the several that may sit at a node. */
  tree?: number;
  /** An online chunk's hop between a worker and its data center's node (Plan.local): gathered there, or handed back. */
  local?: boolean;
  /** Who sent it, when it came through relays; for a pull, the worker that asks (`chunk` is then the key's array index). */
  origin?: string;
  /** An online chunk's message on two levels: within a data center or across (OnlineCommand.level). */
  level?: OnlineLevel;
  /** A compressed message (ChunkPlan.codecs): its payload, codec and decoded length (`values` is then null)... */
  packed?: Uint8Array;
  codec?: Codec;
  length?: number;
  /** ...and its size uncompressed (fp32). */
  dense?: number;
  /** A DGT message (Plan.dgt): the blocks of the chunk it carries (`values` are theirs), and the length of the chunk's values. */
  dgt?: DgtBlocks;
}

/** The agent's side of the control plane. */
export interface AgentControl extends AgentReports {
  requestPlan(iteration: number, reply: (plan: Plan) => void): void;
  onIterationComplete(listener: (iteration: number) => void): void;
  measured(m: Measurement): void;
  /** Online chunks: this node holds an unsent buffer (two levels: at `level`). */
  ready(node: string, iteration: number, chunk: number, level?: OnlineLevel): void;
  /** Online chunks: this node (the root) holds the final value. */
  final(node: string, iteration: number, chunk: number): void;
  /** Online chunks: this node received the final value from `from` (two levels: at `level`). */
  receivedFinal(node: string, from: string, iteration: number, chunk: number, level?: OnlineLevel): void;
  /** Register the handler of the coordinator's commands to this node. */
  onCommand(handler: (command: OnlineCommand) => void): void;
}

/** The training side of a worker. */
export interface WorkerModel {
  /** Start computing iteration `iteration`; call `done` when its gradient is ready. */
  compute(iteration: number, done: () => void): void;
  /** This worker's contribution to a chunk, or null when only sizes travel. */
  contribution(iteration: number, chunk: ChunkPlan): Float32Array | null;
  /** The final (aggregated) value of a chunk reached this worker. */
  receivedFinal(iteration: number, chunk: ChunkPlan, values: Float32Array | null): void;
  /** This worker's iteration is over (every chunk it takes part in is final; or it took part in none). */
  iterationEnded?(iteration: number): void;
  /** Layered compute (sync/layers.ts): the compute time of an iteration, to split over the layers (null: known only once a step has run)... */
  readonly layeredComputeS?: number | null;
  /** ...and the gradient of `iteration`, computed now (the agent times the layers). */
  computeNow?(iteration: number): void;
}

/**
 * A global server's model, where it applies each data center's
 * contribution on its own (Plan.asynchronous): the optimizer and the
 * weights it keeps, from one update to the next.
 */
export interface ServerModel {
  /** Apply one data center's contribution to `chunk`: the sum of its `workers` workers' contributions. */
  apply(chunk: ChunkPlan, sum: Float32Array | null, workers: number): void;
  /** The chunk's current value (what a pull gets). */
  value(chunk: ChunkPlan): Float32Array | null;
}

interface IterationState {
  plan: Plan | null;
  waiting: Delivery<ChunkMessage>[];
  commands: OnlineCommand[];
  gradientReady: boolean;
  /** Contributions received (tree: messages; online: contributions summed in). */
  received: Int32Array;
  sums: (Float32Array | null)[];
  final: Uint8Array;
  finalValues: (Float32Array | null)[];
  finals: number;
  /** Per-key pulls: at a root, the chunks it holds final and the nodes that asked for each key; at a worker, the key it waits for and each key's chunks still to come. */
  rootFinal: Uint8Array;
  asked: Map<number, Set<string>>;
  waitingKey: number;
  keyLeft: Int32Array;
  /** Pulls after acknowledgements: per key, the acknowledgements still to come for this node's pushes. */
  acksLeft: Int32Array;
  /** Online chunks at a data center's node (Plan.local): its workers' contributions gathered so far, and their sum. */
  localReceived: Int32Array;
  localSums: (Float32Array | null)[];
  /** Pulls after acknowledgements: per chunk, the pulls still to serve (the final value is dropped after the last). */
  pullsLeft: Int32Array;
  /** An asynchronous root: per "chunk data-center", the contributions in so far and their sum. */
  groups: Map<string, { count: number; sum: Float32Array | null }>;
  /** A root compressing its own data center's sum (ChunkCodecs.atRoot): per chunk, that data center's contributions so far and their sum. */
  ownGroups: Map<number, { count: number; sum: Float32Array | null }>;
  /** Layered compute: the arrays whose gradient is handed over, and per array the chunks not yet final here. */
  released: number[];
  arrayLeft: Int32Array;
}

/** A plan's chunks by key, and the roots holding each key's parts (per-key pulls). */
interface KeyIndex {
  chunks: number[][];
  roots: string[][];
}

const keyIndexes = new WeakMap<Plan, KeyIndex>();

function keyIndex(plan: Plan): KeyIndex {
  let index = keyIndexes.get(plan);
  if (!index) {
    const chunks: number[][] = [];
    const roots: string[][] = [];
    for (const c of plan.chunks) {
      const key = keyOf(c);
      while (chunks.length <= key) {
        chunks.push([]);
        roots.push([]);
      }
      chunks[key].push(c.id);
      const root = plan.trees[c.tree].root;
      if (!roots[key].includes(root)) roots[key].push(root);
    }
    keyIndexes.set(plan, (index = { chunks, roots }));
  }
  return index;
}

const memberships = new WeakMap<Plan, Map<string, number[]>>();
const receivers = new WeakMap<Tree, Set<string>>();

/** Does `node` contribute to the tree (its root, or a node with a parent)? Others in it only receive the final value (a gather's chain). */
function contributes(tree: Tree, node: string): boolean {
  return tree.root === node || tree.parent.has(node);
}

/** The nodes a tree hands its final value to. */
function receiversOf(tree: Tree): Set<string> {
  let set = receivers.get(tree);
  if (!set) {
    set = new Set();
    for (const list of tree.children.values()) for (const n of list) set.add(n);
    receivers.set(tree, set);
  }
  return set;
}

/**
 * The chunks a worker takes part in: those whose tree holds it, and every
 * online chunk. Every scheduler's chunks hold every worker, but for HFA's
 * rounds within data centers (a tree per data center) and the iterations
 * between rounds (no chunk at all).
 */
function memberChunks(plan: Plan, node: string): number[] {
  let perNode = memberships.get(plan);
  if (!perNode) memberships.set(plan, (perNode = new Map()));
  let ids = perNode.get(node);
  if (!ids) {
    ids = plan.chunks.filter((c) => c.tree < 0 || contributes(plan.trees[c.tree], node) || receiversOf(plan.trees[c.tree]).has(node)).map((c) => c.id);
    perNode.set(node, ids);
  }
  return ids;
}

/**
 * Pulls after acknowledgements, at one node: per key, the parts it pushes
 * (acknowledgements to wait for) and the pull requests it then sends: one
 * per server holding a part, as ps-lite's KVWorker::Pull_ sends one per
 * server. A parent that is its tree's root is that tree's server (several
 * may sit at one node: one request each); a parent that relays for the
 * root (a local server) is one server for every part.
 */
interface PushIndex {
  pushed: Int32Array;
  requests: { to: string; tree?: number }[][];
}

const pushIndexes = new WeakMap<Plan, Map<string, PushIndex>>();

function pushIndex(plan: Plan, node: string): PushIndex {
  let perNode = pushIndexes.get(plan);
  if (!perNode) pushIndexes.set(plan, (perNode = new Map()));
  let index = perNode.get(node);
  if (!index) {
    const keys = keyIndex(plan).chunks.length;
    const made: PushIndex = { pushed: new Int32Array(keys), requests: Array.from({ length: keys }, () => []) };
    const seen = new Set<string>();
    for (const c of plan.chunks) {
      const tree = plan.trees[c.tree];
      const parent = tree.parent.get(node);
      if (parent === undefined || valueWithAck(plan, node, parent)) continue;
      const key = keyOf(c);
      made.pushed[key]++;
      const server = parent === tree.root ? `${key} tree ${c.tree}` : `${key} node ${parent}`;
      if (seen.has(server)) continue;
      seen.add(server);
      made.requests[key].push(parent === tree.root ? { to: parent, tree: c.tree } : { to: parent });
    }
    perNode.set(node, (index = made));
  }
  return index;
}

/** Does the acknowledgement of `child`'s push to `parent` carry the final value (Plan.ackCarriesValue), so that no pull follows? */
function valueWithAck(plan: Plan, child: string, parent: string): boolean {
  return plan.ackCarriesValue === 'lan' && dataCenterOfName(child) === dataCenterOfName(parent);
}

/**
 * An asynchronous root's contributions per data center (Plan.asynchronous):
 * the pushes each data center's update sums at this root (its own worker,
 * its tree children in that data center).
 */
const groupSizes = new WeakMap<Plan, Map<string, Map<string, number>>>();

function groupSize(plan: Plan, tree: number, root: string, hasWorker: boolean, group: string): number {
  let perTree = groupSizes.get(plan);
  if (!perTree) groupSizes.set(plan, (perTree = new Map()));
  const key = `${tree} ${root}`;
  let sizes = perTree.get(key);
  if (!sizes) {
    sizes = new Map();
    if (hasWorker) sizes.set(dataCenterOfName(root), 1);
    for (const child of plan.trees[tree].children.get(root) ?? []) {
      const g = dataCenterOfName(child);
      sizes.set(g, (sizes.get(g) ?? 0) + 1);
    }
    perTree.set(key, sizes);
  }
  return sizes.get(group) ?? 0;
}

export class NodeAgent {
  private readonly states = new Map<number, IterationState>();
  /** An asynchronous root: each chunk's version (updates applied), and the version each data center was last served. */
  private readonly versions = new Map<number, number>();
  private readonly served = new Map<string, Map<number, number>>();
  /** Per sender: (bytes, seconds) of the messages measured since the last report. */
  private readonly windows = new Map<string, number[]>();
  /** Compression: each message stream's sender state (residuals, momentum), by "array offset hop". */
  private readonly codecStates = new Map<string, CodecState>();
  /** Compression: final values already encoded for the way down, by codec. */
  private readonly packedFinals = new WeakMap<Float32Array, Map<Codec, Uint8Array>>();
  /** Bounded staleness (Plan.staleness): the iterations begun, whose gradient is ready, and ended; the iterations complete but waiting for the one before to end. */
  private begun = -1;
  private readonly gradientsReady = new Set<number>();
  private readonly ended = new Set<number>();
  private readonly completeWaiting = new Set<number>();
  /** Layered compute: per iteration, the arrays final here; and the forward pass waiting for one. */
  private readonly arraysFinal = new Map<number, Set<number>>();
  private layerGate: { iteration: number; array: number; go: () => void } | null = null;
  /** DGT: each sender's blocks of each chunk received towards its next round, and the last round taken (sync/dgt.ts). */
  private readonly dgtReceived = new Map<string, { values: Float32Array | null; round: number }>();
  /** DGT: each pushed chunk's block contributions. */
  private readonly dgtStates = new Map<number, DgtState>();

  constructor(
    readonly node: string,
    private readonly worker: WorkerModel | null,
    private readonly iterations: number,
    private readonly transport: NodeTransport<ChunkMessage>,
    private readonly clock: Clock,
    private readonly control: AgentControl,
    private readonly topology: Topology | null = null,
    private readonly underlay: Underlay = 'ip',
    /** Where this node is a root of an asynchronous plan: the model it keeps. */
    private readonly server: ServerModel | null = null,
    /** Layered compute (P3): each array's share of an iteration's compute. */
    private readonly layers: LayerShares | null = null,
  ) {
    if (underlay === 'relay' && !topology) throw new Error('the relay underlay needs the topology');
    if (layers && worker && (worker.layeredComputeS === undefined || worker.layeredComputeS === null || !worker.computeNow)) {
      throw new Error(`${node}: layered compute needs a compute time per iteration to split over the layers (a worker that measures its step as a whole cannot be split)`);
    }
  }

  start(): void {
    this.transport.onMessage((d) => this.onMessage(d));
    this.control.onIterationComplete((i) => this.states.delete(i - 1));
    this.control.onCommand((c) => this.onCommand(c));
    if (this.worker) this.beginIteration(0);
  }

  private beginIteration(iteration: number): void {
    this.begun = iteration;
    this.control.computeStarted(this.node, iteration, this.clock.now());
    const state = this.state(iteration);
    if (this.layers) {
      this.forward(iteration, 0);
      return;
    }
    this.worker!.compute(iteration, () => {
      this.control.gradientReady(this.node, iteration, this.clock.now());
      state.gradientReady = true;
      this.gradientsReady.add(iteration);
      if (state.plan) {
        this.contributeLocal(iteration, state);
        this.beginWithStaleness(iteration + 1);
      }
    });
  }

  /**
   * Bounded staleness 1 (Plan.staleness; StellaTrain's core.cpp): iteration
   * `iteration` computes once the one before has its gradient and the one
   * before that has ended (its update applied), overlapping the previous
   * iteration's exchange.
   */
  private beginWithStaleness(iteration: number): void {
    if (iteration <= this.begun || iteration >= this.iterations) return;
    const previous = this.states.get(iteration - 1)?.plan;
    if (!previous?.staleness) return;
    if (this.gradientsReady.has(iteration - 1) && (iteration < 2 || this.ended.has(iteration - 2))) this.beginIteration(iteration);
  }

  // ------------------------------------------------------------ layered compute (P3)

  /** The forward pass of `array` in `iteration`: once the array's final value of the iteration before is here. */
  private forward(iteration: number, array: number): void {
    const layers = this.layers!;
    if (array === layers.forward.length) {
      // every array is up to date: the gradient (real training computes it now; its time is the layers')
      this.worker!.computeNow!(iteration);
      this.backward(iteration, array - 1);
      return;
    }
    const go = () => this.clock.setTimer(layers.forward[array] * this.worker!.layeredComputeS!, () => this.forward(iteration, array + 1));
    if (iteration === 0 || this.arraysFinal.get(iteration - 1)?.has(array)) go();
    else this.layerGate = { iteration: iteration - 1, array, go };
  }

  /** The backward pass of `array`, last array first; each array's gradient is handed over as it is ready. */
  private backward(iteration: number, array: number): void {
    this.clock.setTimer(this.layers!.backward[array] * this.worker!.layeredComputeS!, () => {
      const state = this.state(iteration);
      state.released.push(array);
      if (state.plan) this.contributeLocal(iteration, state, array);
      if (array > 0) {
        this.backward(iteration, array - 1);
        return;
      }
      this.control.gradientReady(this.node, iteration, this.clock.now());
      this.arraysFinal.delete(iteration - 1);
      if (iteration + 1 < this.iterations) this.beginIteration(iteration + 1);
    });
  }

  /** Layered compute: a chunk of `chunk.array` is final here. */
  private layerFinal(iteration: number, state: IterationState, chunk: ChunkPlan): void {
    if (--state.arrayLeft[chunk.array] === 0) this.arrayFinal(iteration, chunk.array);
  }

  /** Layered compute: every chunk of `array` is final here; a forward pass waiting for it goes on. */
  private arrayFinal(iteration: number, array: number): void {
    let done = this.arraysFinal.get(iteration);
    if (!done) this.arraysFinal.set(iteration, (done = new Set()));
    done.add(array);
    const gate = this.layerGate;
    if (gate && gate.iteration === iteration && gate.array === array) {
      this.layerGate = null;
      gate.go();
    }
  }

  private state(iteration: number): IterationState {
    let state = this.states.get(iteration);
    if (!state) {
      const created: IterationState = {
        plan: null, waiting: [], commands: [], gradientReady: false,
        received: new Int32Array(0), sums: [], final: new Uint8Array(0), finalValues: [], finals: 0,
        rootFinal: new Uint8Array(0), asked: new Map(), waitingKey: 0, keyLeft: new Int32Array(0),
        acksLeft: new Int32Array(0), localReceived: new Int32Array(0), localSums: [], pullsLeft: new Int32Array(0), groups: new Map(), ownGroups: new Map(),
        released: [], arrayLeft: new Int32Array(0),
      };
      state = created;
      this.states.set(iteration, created);
      this.control.requestPlan(iteration, (plan) => this.onPlan(iteration, created, plan));
    }
    return state;
  }

  private onPlan(iteration: number, state: IterationState, plan: Plan): void {
    const n = plan.chunks.length;
    state.plan = plan;
    state.received = new Int32Array(n);
    state.sums = new Array(n).fill(null);
    state.final = new Uint8Array(n);
    state.finalValues = new Array(n).fill(null);
    if (plan.pullAfterAck) {
      state.acksLeft = Int32Array.from(pushIndex(plan, this.node).pushed);
      state.pullsLeft = Int32Array.from(plan.chunks, (c) => (c.tree < 0 ? 0 : (plan.trees[c.tree].children.get(this.node) ?? []).filter((child) => !valueWithAck(plan, child, this.node)).length));
    }
    if (this.layers && this.worker) {
      state.arrayLeft = new Int32Array(this.layers.forward.length);
      for (const id of memberChunks(plan, this.node)) state.arrayLeft[plan.chunks[id].array]++;
      // (an array this worker exchanges nothing of is up to date at once)
      state.arrayLeft.forEach((left, array) => left === 0 && this.arrayFinal(iteration, array));
    }
    if (plan.local?.children.has(this.node)) {
      state.localReceived = new Int32Array(n);
      state.localSums = new Array(n).fill(null);
    }
    if (plan.pullPerKey) {
      state.rootFinal = new Uint8Array(n);
      state.keyLeft = Int32Array.from(keyIndex(plan).chunks, (c) => c.length);
    }
    if (state.gradientReady) {
      this.contributeLocal(iteration, state);
      this.beginWithStaleness(iteration + 1);
    }
    for (const array of state.released) this.contributeLocal(iteration, state, array);
    const waiting = state.waiting;
    state.waiting = [];
    for (const d of waiting) this.handle(state, d);
    const commands = state.commands;
    state.commands = [];
    for (const c of commands) this.execute(state, c);
  }

  /** Hand this worker's gradient over to the exchange: every chunk it contributes to, or (layered compute) those of one array. */
  private contributeLocal(iteration: number, state: IterationState, array?: number): void {
    const plan = state.plan!;
    const dataCenter = plan.local?.parent.get(this.node);
    const scale = plan.scale?.get(this.node);
    const members = memberChunks(plan, this.node);
    for (const id of members) {
      const chunk = plan.chunks[id];
      if (array !== undefined && chunk.array !== array) continue;
      if (chunk.tree >= 0 && !contributes(plan.trees[chunk.tree], this.node)) continue; // (it only receives this one)
      const given = this.worker!.contribution(iteration, chunk);
      const values = given && scale !== undefined ? given.map((v) => v * scale) : given;
      if (chunk.tree >= 0) this.addTreeContribution(iteration, state, chunk, values, this.node);
      else if (dataCenter) this.sendTowards(dataCenter, chunk.bytes, { kind: 'up', iteration, chunk: chunk.id, version: plan.version, count: 1, values, local: true });
      else this.mergeOnline(iteration, state, chunk, 1, values);
    }
    // MXNET's trainer issues every push, then pulls key by key (see PULL_REQUEST_BYTES).
    if (plan.pullPerKey) this.askForKey(iteration, state, 0);
    // (an iteration without an exchange for this worker: HFA's local steps)
    if (members.length === 0 && array === undefined) this.endIteration(iteration);
  }

  // ------------------------------------------------------------ messages

  private onMessage(d: Delivery<ChunkMessage>): void {
    let m = d.body;
    if (m.dgt && m.via?.length) {
      // (a relay: on at once, in its class, whatever iteration the relay is at)
      this.recordDelivery(d, m.iteration);
      this.transport.send(m.via[0], d.bytes, { ...m, via: m.via.slice(1) }, m.dgt.important ? 1 : 0);
      return;
    }
    // DGT: blocks gather towards the sender's next round; the one with the chunk's last block completes it
    const dgt = m.dgt ? this.receiveDgt(m.origin ?? d.from, m) : null;
    this.recordDelivery(d, dgt?.countIn ?? m.iteration);
    if (dgt) {
      if (!dgt.complete) return;
      m = { ...m, values: dgt.values, dgt: undefined };
      d = { ...d, body: m };
    }
    const state = this.state(m.iteration);
    if (!state.plan) state.waiting.push(d);
    else this.handle(state, d);
  }

  private handle(state: IterationState, d: Delivery<ChunkMessage>): void {
    const m = d.body;
    const plan = state.plan!;
    if (m.version !== plan.version) {
      throw new Error(`${this.node}: iteration ${m.iteration} got a message of plan ${m.version} but runs plan ${plan.version}`);
    }
    this.measure(plan, d);
    if (m.via && m.via.length > 0) {
      // A hop of an auxiliary path: pass it on unchanged.
      this.transport.send(m.via[0], d.bytes, { ...m, via: m.via.slice(1) }, this.priorityOf(plan, m, m.via[0]));
      return;
    }
    if (m.kind === 'pull') {
      if (plan.pullAfterAck) this.onPullRequest(m.iteration, state, m.chunk, m.origin!, m.tree);
      else this.onAsked(m.iteration, state, m.chunk, m.origin!);
      return;
    }
    if (m.kind === 'ack') {
      this.onAck(m.iteration, state, keyOf(plan.chunks[m.chunk]));
      return;
    }
    const chunk = plan.chunks[m.chunk];
    const values = m.packed ? decode(m.codec!, m.packed, m.length!) : m.values;
    if (m.local) {
      if (m.kind === 'up') this.gatherLocal(m.iteration, state, chunk, values);
      else this.onFinal(m.iteration, state, chunk, values);
    } else if (chunk.tree < 0) {
      if (m.kind === 'up') this.mergeOnline(m.iteration, state, chunk, m.count, values, m.level);
      else {
        this.onFinal(m.iteration, state, chunk, values);
        this.control.receivedFinal(this.node, m.origin ?? d.from, m.iteration, chunk.id, m.level);
      }
    } else if (m.kind === 'up') {
      this.addTreeContribution(m.iteration, state, chunk, values, m.origin ?? d.from);
    } else {
      this.onFinal(m.iteration, state, chunk, values);
    }
  }

  private recordDelivery(d: Delivery<ChunkMessage>, iteration: number): void {
    const m = d.body;
    this.control.delivered({
      iteration, chunk: m.chunk, kind: m.kind, from: d.from, to: d.to, bytes: d.bytes,
      enqueuedAt: d.enqueuedAt, sentAt: d.sentAt, deliveredAt: d.deliveredAt, aux: m.aux === true, ...(m.dense !== undefined ? { denseBytes: m.dense } : {}),
    });
  }

  /**
   * A DGT message at the global server (van.cc ProcessDataMsg): its blocks
   * are added into the sender's blocks of the chunk (a block late for its
   * round adds into the next); the message with the last block completes
   * the round, blocks not in yet counting as zero. `countIn`: the iteration
   * whose bytes it counts for (a late block's: the round it joins).
   */
  private receiveDgt(from: string, m: ChunkMessage): { complete: boolean; values: Float32Array | null; countIn: number } {
    const blocks = m.dgt!;
    const key = `${from} ${m.chunk}`;
    let got = this.dgtReceived.get(key);
    if (!got) this.dgtReceived.set(key, (got = { values: null, round: -1 }));
    const late = m.iteration <= got.round;
    if (m.values) {
      // added, not set: a block late for its round adds into the next round's (MergeMsg)
      got.values ??= new Float32Array(blocks.length);
      for (let k = 0; k < m.values.length; k++) got.values[blocks.start + k] += m.values[k];
    }
    if (!blocks.last) return { complete: false, values: null, countIn: late ? got.round + 1 : m.iteration };
    got.round = m.iteration;
    const values = got.values ?? (blocks.length > 0 ? new Float32Array(blocks.length) : null);
    got.values = null;
    return { complete: true, values, countIn: m.iteration };
  }

  private measure(plan: Plan, d: Delivery<ChunkMessage>): void {
    const config = plan.measure;
    if (!config || d.from === d.to) return;
    // (a scheduler over data centers measures the WAN only: not its local stage's hops)
    if (plan.local && (d.body.local || plan.local.parent.get(d.from) === this.node || plan.local.parent.get(this.node) === d.from)) return;
    if (config.metric === 'inverse-seconds') {
      const seconds = d.deliveredAt - d.enqueuedAt;
      if (d.body.kind !== 'down' || d.body.via?.length || seconds <= 0) return;
      this.control.measured({ from: d.body.origin ?? d.from, to: this.node, mbps: Math.trunc(1 / seconds), at: d.deliveredAt, iteration: d.body.iteration });
      return;
    }
    if (d.bytes < config.thresholdBytes || d.deliveredAt <= d.sentAt) return;
    let window = this.windows.get(d.from);
    if (!window) this.windows.set(d.from, (window = []));
    // (bytes, seconds) pairs
    window.push(d.bytes, d.deliveredAt - d.sentAt);
    if (window.length < 2 * config.window) return;
    const mbps = aggregateRate(window, config.aggregate);
    window.length = 0;
    this.control.measured({ from: d.from, to: this.node, mbps, at: d.deliveredAt, iteration: d.body.iteration });
  }

  // ------------------------------------------------------------ tree chunks

  /** `sum` with `values` added: in binary16 where the chunk is (ChunkCodecs.half), else in fp32. */
  private sum(chunk: ChunkPlan, sum: Float32Array | null, values: Float32Array | null): Float32Array | null {
    if (!chunk.codecs?.half || !values || !sum) return sumInto(sum, values);
    addHalf(sum, values);
    return sum;
  }

  /**
   * `values` encoded for the hop. A final value goes down to every child
   * through the same stateless codec: encoded once, the bytes shared.
   */
  private packed(chunk: ChunkPlan, codec: Codec, level: 'lan' | 'wan', kind: 'up' | 'down', values: Float32Array): Uint8Array {
    if (kind === 'up') return encode(codec, values, this.codecState(chunk, `${level} up`)).packed;
    let byCodec = this.packedFinals.get(values);
    if (!byCodec) this.packedFinals.set(values, (byCodec = new Map()));
    let packed = byCodec.get(codec);
    if (!packed) byCodec.set(codec, (packed = encode(codec, values, {}).packed));
    return packed;
  }

  /** A compressing sender's state for one of the chunk's message streams. */
  private codecState(chunk: ChunkPlan, hop: string): CodecState {
    const key = `${chunk.array} ${chunk.offset} ${hop}`;
    let state = this.codecStates.get(key);
    if (!state) this.codecStates.set(key, (state = {}));
    return state;
  }

  private addTreeContribution(iteration: number, state: IterationState, chunk: ChunkPlan, values: Float32Array | null, from: string): void {
    const tree = state.plan!.trees[chunk.tree];
    if (state.plan!.asynchronous && tree.root === this.node) {
      this.addAsynchronous(iteration, state, chunk, values, dataCenterOfName(from));
      return;
    }
    const id = chunk.id;
    const codecs = chunk.codecs;
    if (codecs?.half && from === this.node && values) values = roundAllToBinary16(Float32Array.from(values)); // (a float16 model's gradient)
    if (codecs && tree.root === this.node) {
      if (codecs.atRoot === 'source' && from === this.node && values && !codecs.half) {
        // the root's own worker compresses what it contributes, as every other worker does when it sends (fp16: rounded above)
        const codec = codecs.wan.up ?? codecs.lan.up;
        if (codec) values = encode(codec, values, this.codecState(chunk, 'source')).decoded;
      } else if (codecs.atRoot === 'data-center' && codecs.wan.up && dataCenterOfName(from) === dataCenterOfName(this.node)) {
        this.addOwnDataCenter(iteration, state, chunk, values, codecs.wan.up);
        return;
      }
    }
    this.addContributions(iteration, state, chunk, values, 1);
  }

  /**
   * A root whose own data center's sum is compressed as if pushed over the
   * WAN (ChunkCodecs.atRoot 'data-center'): its worker's and its LAN
   * children's contributions summed first, then through the codec, then
   * added in as theirs.
   */
  private addOwnDataCenter(iteration: number, state: IterationState, chunk: ChunkPlan, values: Float32Array | null, codec: Codec): void {
    let group = state.ownGroups.get(chunk.id);
    if (!group) state.ownGroups.set(chunk.id, (group = { count: 0, sum: null }));
    group.count++;
    group.sum = this.sum(chunk, group.sum, values);
    const tree = state.plan!.trees[chunk.tree];
    const members = (this.worker ? 1 : 0) + (tree.children.get(this.node) ?? []).filter((c) => dataCenterOfName(c) === dataCenterOfName(this.node)).length;
    if (group.count < members) return;
    state.ownGroups.delete(chunk.id);
    const sum = group.sum ? encode(codec, group.sum, this.codecState(chunk, 'wan up')).decoded : null;
    this.addContributions(iteration, state, chunk, sum, members);
  }

  /** `count` contributions (summed in `values`) to a tree chunk are in; with all in, send the sum up, or (at the root) it is final. */
  private addContributions(iteration: number, state: IterationState, chunk: ChunkPlan, values: Float32Array | null, count: number): void {
    const tree = state.plan!.trees[chunk.tree];
    const id = chunk.id;
    state.received[id] += count;
    state.sums[id] = this.sum(chunk, state.sums[id], values);
    const expected = (this.worker ? 1 : 0) + (tree.upChildren.get(this.node) ?? 0);
    if (state.received[id] < expected) return;
    const sum = state.sums[id];
    state.sums[id] = null;
    if (tree.root === this.node) {
      this.onFinal(iteration, state, chunk, sum);
    } else {
      this.sendHop(tree.parent.get(this.node)!, 'up', iteration, state.plan!, chunk, 1, sum);
    }
  }

  /**
   * An asynchronous root: a data center's contribution to `chunk`; with
   * all of its pushes in, its update is applied on its own, and that data
   * center alone is answered (acknowledged; its pulls get the model as it
   * is then).
   */
  private addAsynchronous(iteration: number, state: IterationState, chunk: ChunkPlan, values: Float32Array | null, group: string): void {
    const plan = state.plan!;
    const key = `${chunk.id} ${group}`;
    let g = state.groups.get(key);
    if (!g) state.groups.set(key, (g = { count: 0, sum: null }));
    g.count++;
    g.sum = sumInto(g.sum, values);
    if (g.count < groupSize(plan, chunk.tree, this.node, this.worker !== null, group)) return;
    state.groups.delete(key);
    if (!this.server) throw new Error(`${this.node}: a root of an asynchronous plan without a server model`);
    this.server.apply(chunk, g.sum, plan.asynchronous!.workers.get(group) ?? 1);
    const version = (this.versions.get(chunk.id) ?? 0) + 1;
    this.versions.set(chunk.id, version);
    this.control.updateApplied({
      server: this.node, chunk: chunk.id, array: chunk.array, dataCenter: group, iteration, version,
      staleness: version - 1 - (this.served.get(group)?.get(chunk.id) ?? 0), at: this.clock.now(),
    });
    const pushers = (plan.trees[chunk.tree].children.get(this.node) ?? []).filter((child) => dataCenterOfName(child) === group);
    if (group === dataCenterOfName(this.node)) {
      // this node is its own data center's local server too: it takes the model once and answers its workers from that copy (as every local server does)
      const values = this.serveModel(chunk, group);
      state.finalValues[chunk.id] = pushers.length > 0 ? values : null;
      state.pullsLeft[chunk.id] = pushers.length;
      if (this.worker) this.deliverFinal(iteration, state, chunk, values);
    }
    for (const child of pushers) this.sendTowards(child, 0, { kind: 'ack', iteration, chunk: chunk.id, version: plan.version, count: 0, values: null });
  }

  /** An asynchronous root hands `group` the chunk's current value, and notes the version it got. */
  private serveModel(chunk: ChunkPlan, group: string): Float32Array | null {
    let versions = this.served.get(group);
    if (!versions) this.served.set(group, (versions = new Map()));
    versions.set(chunk.id, this.versions.get(chunk.id) ?? 0);
    return this.server!.value(chunk);
  }

  private onFinal(iteration: number, state: IterationState, chunk: ChunkPlan, values: Float32Array | null): void {
    const plan = state.plan!;
    // (pulls after acknowledgements: kept only for the pulls still to come)
    if (!plan.pullAfterAck || state.pullsLeft[chunk.id] > 0) state.finalValues[chunk.id] = values;
    if (plan.pullAfterAck) {
      // acknowledge the pushes of this part; each pusher asks for the key once all its parts are acknowledged (or gets the part with the ack: P3)
      for (const child of plan.trees[chunk.tree].children.get(this.node) ?? []) {
        if (valueWithAck(plan, child, this.node)) this.sendHop(child, 'down', iteration, plan, chunk, 1, values);
        else this.sendTowards(child, 0, { kind: 'ack', iteration, chunk: chunk.id, version: plan.version, count: 0, values: null });
      }
      this.deliverFinal(iteration, state, chunk, values);
      return;
    }
    if (plan.pullPerKey && chunk.tree >= 0 && plan.trees[chunk.tree].root === this.node) {
      // Serve only the nodes (this one's worker included) that asked for the key.
      state.rootFinal[chunk.id] = 1;
      for (const node of state.asked.get(chunk.array) ?? []) this.serveFinal(iteration, state, chunk, node);
      return;
    }
    if (chunk.tree >= 0) {
      for (const child of plan.trees[chunk.tree].children.get(this.node) ?? []) this.sendHop(child, 'down', iteration, plan, chunk, 1, values);
    } else {
      for (const w of plan.local?.children.get(this.node) ?? []) {
        this.sendTowards(w, chunk.bytes, { kind: 'down', iteration, chunk: chunk.id, version: plan.version, count: 0, values, local: true });
      }
    }
    this.deliverFinal(iteration, state, chunk, values);
  }

  /** This node's worker holds the final value of `chunk`. */
  private deliverFinal(iteration: number, state: IterationState, chunk: ChunkPlan, values: Float32Array | null): void {
    const plan = state.plan!;
    if (!this.worker || state.final[chunk.id]) return;
    state.final[chunk.id] = 1;
    this.worker.receivedFinal(iteration, chunk, values);
    if (this.layers) this.layerFinal(iteration, state, chunk);
    if (++state.finals === memberChunks(plan, this.node).length) {
      this.endIteration(iteration);
      return;
    }
    const key = keyOf(chunk);
    if (plan.pullPerKey && --state.keyLeft[key] === 0) this.askForKey(iteration, state, key + 1);
  }

  private endIteration(iteration: number): void {
    const stale = this.states.get(iteration)?.plan?.staleness;
    if (stale && iteration > 0 && !this.ended.has(iteration - 1)) {
      // (its update waits for the one before's: updates apply in order)
      this.completeWaiting.add(iteration);
      return;
    }
    this.worker!.iterationEnded?.(iteration);
    this.control.iterationDone(this.node, iteration, this.clock.now());
    if (!stale) {
      // (layered compute begins the next iteration when its backward pass ends)
      if (iteration + 1 < this.iterations && !this.layers) this.beginIteration(iteration + 1);
      return;
    }
    this.ended.add(iteration);
    this.ended.delete(iteration - 2);
    this.gradientsReady.delete(iteration - 1);
    this.beginWithStaleness(iteration + 1);
    this.beginWithStaleness(iteration + 2);
    if (this.completeWaiting.delete(iteration + 1)) this.endIteration(iteration + 1);
  }

  // ------------------------------------------------------------ per-key pulls

  /** Ask every root holding a part of key `array` for its final value. */
  private askForKey(iteration: number, state: IterationState, array: number): void {
    const plan = state.plan!;
    const roots = keyIndex(plan).roots;
    if (array >= roots.length) return;
    state.waitingKey = array;
    for (const root of roots[array]) {
      if (root === this.node) this.onAsked(iteration, state, array, this.node);
      else this.sendTowards(root, PULL_REQUEST_BYTES, { kind: 'pull', iteration, chunk: array, version: plan.version, count: 0, values: null, origin: this.node });
    }
  }

  /** `node` asks this root for key `array`: send the parts already final, and the rest when they are. */
  private onAsked(iteration: number, state: IterationState, array: number, node: string): void {
    let askers = state.asked.get(array);
    if (!askers) state.asked.set(array, (askers = new Set()));
    askers.add(node);
    const plan = state.plan!;
    for (const id of keyIndex(plan).chunks[array]) {
      const chunk = plan.chunks[id];
      if (state.rootFinal[id] && plan.trees[chunk.tree].root === this.node) this.serveFinal(iteration, state, chunk, node);
    }
  }

  /** Pulls after acknowledgements: every part of key `key` this node pushed is acknowledged: ask each parent holding one. */
  private onAck(iteration: number, state: IterationState, key: number): void {
    if (--state.acksLeft[key] > 0) return;
    const plan = state.plan!;
    for (const request of pushIndex(plan, this.node).requests[key]) {
      this.sendTowards(request.to, PULL_REQUEST_BYTES, {
        kind: 'pull', iteration, chunk: key, version: plan.version, count: 0, values: null, origin: this.node, ...(request.tree !== undefined ? { tree: request.tree } : {}),
      });
    }
  }

  /** Pulls after acknowledgements: `node` asks for key `array` (of one server, `tree`, or all): send it the parts it pushed here (final here, as their acknowledgements said). */
  private onPullRequest(iteration: number, state: IterationState, array: number, node: string, tree: number | undefined): void {
    const plan = state.plan!;
    for (const id of keyIndex(plan).chunks[array]) {
      const chunk = plan.chunks[id];
      if (plan.trees[chunk.tree].parent.get(node) !== this.node || (tree !== undefined && chunk.tree !== tree)) continue;
      if (plan.asynchronous && plan.trees[chunk.tree].root === this.node && dataCenterOfName(node) !== dataCenterOfName(this.node)) {
        // another data center's local server: the model as it is now
        this.sendHop(node, 'down', iteration, plan, chunk, 1, this.serveModel(chunk, dataCenterOfName(node)));
        continue;
      }
      this.sendHop(node, 'down', iteration, plan, chunk, 1, state.finalValues[id]);
      if (--state.pullsLeft[id] === 0) state.finalValues[id] = null;
    }
  }

  private serveFinal(iteration: number, state: IterationState, chunk: ChunkPlan, node: string): void {
    if (node === this.node) this.deliverFinal(iteration, state, chunk, state.finalValues[chunk.id]);
    else this.sendHop(node, 'down', iteration, state.plan!, chunk, 1, state.finalValues[chunk.id]);
  }

  /**
   * Send along one edge of a tree. With multipath on, when the direct link's
   * queue is long and an auxiliary path's first hop is idle, go that way.
   */
  private sendHop(to: string, kind: 'up' | 'down', iteration: number, plan: Plan, chunk: ChunkPlan, count: number, values: Float32Array | null): void {
    let body: ChunkMessage = { kind, iteration, chunk: chunk.id, version: plan.version, count, values };
    let bytes = chunk.bytes;
    const level = dataCenterOfName(to) === dataCenterOfName(this.node) ? 'lan' : 'wan';
    if (plan.dgt && kind === 'up' && level === 'wan') {
      this.sendDgt(to, plan, chunk, body);
      return;
    }
    const codec = chunk.codecs?.[level][kind];
    if (codec) {
      bytes = codecBytes(codec, chunk.elements);
      body = { ...body, values: null, codec, dense: chunk.bytes };
      if (values) body = { ...body, packed: this.packed(chunk, codec, level, kind, values), length: values.length };
    }
    const mp = plan.multipath;
    if (mp && this.topology) {
      // NetStorm's van counts the messages waiting in a link's send queue (the one being sent has left it).
      const held = (peer: string) => {
        const queued = this.transport.queued(peer);
        return mp.countWaitingOnly ? Math.max(0, queued - 1) : queued;
      };
      if (held(to) > mp.mainQueueAbove) {
        for (const path of auxiliaryPaths(plan, this.topology, this.node, to)) {
          if (held(path[0]) < mp.auxQueueBelow) {
            this.transport.send(path[0], bytes, { ...body, via: path.slice(1), aux: true }, this.priorityOf(plan, body, path[0]));
            return;
          }
        }
      }
    }
    this.sendTowards(to, bytes, body);
  }

  /** DGT (Plan.dgt): a push across data centers as its blocks, important ones ahead of the rest on the connection (sync/dgt.ts). */
  private sendDgt(to: string, plan: Plan, chunk: ChunkPlan, body: ChunkMessage): void {
    let state = this.dgtStates.get(chunk.id);
    if (!state) this.dgtStates.set(chunk.id, (state = {}));
    const values = body.values;
    const length = values?.length ?? 0;
    for (const m of dgtMessages(chunk.elements, chunk.bytes / chunk.elements, values, state, plan.dgt!)) {
      const part = values && m.startElement < length ? values.subarray(m.startElement, Math.min(m.endElement, length)) : null;
      this.sendTowards(to, m.bytes, { ...body, values: part, dgt: { start: m.startElement, length, last: m.last, important: m.important } });
    }
  }

  /** Send to `to`: directly, or on the relay underlay to a node that is not a neighbour, along the relay path. */
  private sendTowards(to: string, bytes: number, body: ChunkMessage): void {
    const topology = this.topology;
    const plan = this.states.get(body.iteration)?.plan ?? null;
    if (this.underlay === 'relay' && topology && topology.linkBetween(topology.nodeIndex(this.node), topology.nodeIndex(to)) === undefined) {
      const path = relayPath(plan!, topology, this.node, to);
      this.transport.send(path[0], bytes, { ...body, via: path.slice(1), origin: body.origin ?? this.node }, this.priorityOf(plan, body, to));
      return;
    }
    this.transport.send(to, bytes, body, this.priorityOf(plan, body, to));
  }

  /**
   * A message's place in its sender's queue: higher leaves first; 0 where
   * the plan keeps FIFO. StellaTrain (Plan.sendOrder): older iterations,
   * then input-side arrays. P3: a worker's pushes to its data center, by
   * minus the array's index. DGT: important blocks ahead of unimportant
   * ones, and pulls ahead of both (GeoMX's van sends them straight, not
   * through the DGT queues).
   */
  private priorityOf(plan: Plan | null, body: ChunkMessage, to: string): number {
    if (plan?.dgt) {
      if (body.dgt) return body.dgt.important ? 1 : 0;
      return body.kind === 'pull' ? 2 : 0;
    }
    if (!plan?.sendOrder || body.kind === 'pull') return 0;
    const array = plan.chunks[body.chunk].array;
    if (plan.sendOrder === 'iteration-then-array') return -(body.iteration * 1000 + array);
    return body.kind === 'up' && dataCenterOfName(to) === dataCenterOfName(this.node) ? -array : 0;
  }

  // ------------------------------------------------------------ online chunks

  private mergeOnline(iteration: number, state: IterationState, chunk: ChunkPlan, count: number, values: Float32Array | null, level?: OnlineLevel): void {
    const online = state.plan!.online!;
    state.received[chunk.id] += count;
    addInto(state.sums, chunk.id, values);
    if (online.root === this.node && state.received[chunk.id] === online.contributors) {
      const sum = state.sums[chunk.id];
      state.sums[chunk.id] = null;
      this.onFinal(iteration, state, chunk, sum);
      this.control.final(this.node, iteration, chunk.id);
    } else {
      this.control.ready(this.node, iteration, chunk.id, online.within ? this.readyLevel(online, state.received[chunk.id], level) : undefined);
    }
  }

  /**
   * Two levels: where this node's buffer takes part. A worker of a data
   * center with several: within it. A data center's node with several
   * workers: within until it holds all of theirs, then across (the global
   * server, which never sends, is queued again where its merge came from).
   * A data center of one worker: across.
   */
  private readyLevel(online: NonNullable<Plan['online']>, received: number, from: OnlineLevel | undefined): OnlineLevel {
    const workers = online.within!.get(this.node);
    if (workers === undefined) return dataCenterOfName(this.node) !== this.node ? 'within' : 'across';
    if (online.root === this.node) return from ?? 'within';
    return received >= workers ? 'across' : 'within';
  }

  /** A data center's node gathers its workers' contributions to an online chunk; with all of them in, it holds the data center's buffer. */
  private gatherLocal(iteration: number, state: IterationState, chunk: ChunkPlan, values: Float32Array | null): void {
    const id = chunk.id;
    const workers = state.plan!.local!.children.get(this.node)!.length;
    state.localReceived[id]++;
    addInto(state.localSums, id, values);
    if (state.localReceived[id] < workers) return;
    const sum = state.localSums[id];
    state.localSums[id] = null;
    this.mergeOnline(iteration, state, chunk, workers, sum);
  }

  private onCommand(command: OnlineCommand): void {
    const state = this.state(command.iteration);
    if (!state.plan) state.commands.push(command);
    else this.execute(state, command);
  }

  private execute(state: IterationState, c: OnlineCommand): void {
    const plan = state.plan!;
    const chunk = plan.chunks[c.chunk];
    const level = c.level ? { level: c.level } : {};
    if (c.kind === 'up') {
      const count = state.received[c.chunk];
      const values = state.sums[c.chunk];
      state.received[c.chunk] = 0;
      state.sums[c.chunk] = null;
      this.sendTowards(c.to, chunk.bytes, { kind: 'up', iteration: c.iteration, chunk: c.chunk, version: plan.version, count, values, ...level });
    } else {
      this.sendTowards(c.to, chunk.bytes, {
        kind: 'down', iteration: c.iteration, chunk: c.chunk, version: plan.version, count: 0, values: state.finalValues[c.chunk], ...level,
      });
    }
  }
}

/** A window's rate in Mbit/s, from its (bytes, seconds) pairs. */
export function aggregateRate(window: number[], aggregate: MeasureConfig['aggregate']): number {
  if (aggregate === 'bytes-over-time') {
    let bytes = 0, seconds = 0;
    for (let k = 0; k < window.length; k += 2) {
      bytes += window[k];
      seconds += window[k + 1];
    }
    return (bytes * 8) / seconds / 1e6;
  }
  let sum = 0;
  for (let k = 0; k < window.length; k += 2) sum += (window[k] * 8) / window[k + 1] / 1e6;
  return sum / (window.length / 2);
}

/** Add `values` into sums[id] (a copy the first time). */
function addInto(sums: (Float32Array | null)[], id: number, values: Float32Array | null): void {
  sums[id] = sumInto(sums[id], values);
}

/** `sum` with `values` added (a copy of `values` when there is no sum yet). */
function sumInto(sum: Float32Array | null, values: Float32Array | null): Float32Array | null {
  if (!values) return sum;
  if (!sum) return Float32Array.from(values);
  for (let k = 0; k < sum.length; k++) sum[k] += values[k];
  return sum;
}
