/**
 * The flow-level network. Every (sender, receiver) pair has one connection,
 * a FIFO of messages of which only the head is on the wire, as in a TCP
 * stream. The head message is a fluid flow along the underlay route; directed
 * link capacities are shared max-min fairly among the connections that are
 * sending, recomputed whenever a connection starts or stops sending or a
 * capacity changes. A message is delivered one route delay after its last
 * byte left. Message boundaries on a busy connection change no rates, so
 * back-to-back messages cost no recomputation.
 */
import { Heap } from '../../util/heap.js';
import { mbpsToBytesPerSec } from '../../util/format.js';
import type { Trace } from '../../scenario/trace.js';
import type { Topology } from '../topology.js';
import type { Delivery, NodeTransport } from '../types.js';
import type { EventQueue } from './events.js';

interface Message {
  bytes: number;
  body: unknown;
  enqueuedAt: number;
}

interface Connection {
  from: number;
  to: number;
  route: number[];
  delayS: number;
  queue: Message[];
  /** Index of the head message in `queue` (messages before it are done). */
  head: number;
  active: boolean;
  /** In the `active` list (it stays there until the next settle after going idle). */
  listed: boolean;
  rate: number; // bytes/s
  remaining: number; // bytes of the head message left at `anchor`
  anchor: number;
  sentAt: number;
  finish: number;
  version: number;
}

interface Finish {
  time: number;
  seq: number;
  conn: Connection;
  version: number;
}

export interface LinkUsage {
  /** Bytes carried per time bin, per directed link. */
  carriedBytes: Float64Array[];
  binS: number;
}

/** Messages smaller than this many bytes are complete (float round-off). */
const EPSILON_BYTES = 1e-6;

export class SimNetwork {
  private readonly capacity: Float64Array; // bytes/s per directed link
  private readonly connections = new Map<number, Connection>();
  private readonly active: Connection[] = [];
  private readonly finishes = new Heap<Finish>((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));
  private finishSeq = 0;
  private dirty = false;
  private readonly handlers: ((d: Delivery) => void)[];
  // link accounting
  private readonly linkRate: Float64Array;
  private lastAccounted = 0;
  private readonly carried: Float64Array[];
  /** Number of rate recomputations, for benchmarks. */
  recomputations = 0;
  /** Simulated time of the last delivery (progress marker). */
  lastDeliveryAt = 0;

  constructor(
    readonly topology: Topology,
    private readonly traces: Trace[],
    private readonly events: EventQueue,
    private readonly binS = 1,
  ) {
    const n = topology.links.length;
    this.capacity = new Float64Array(n);
    this.linkRate = new Float64Array(n);
    this.carried = Array.from({ length: n }, () => new Float64Array(64));
    this.handlers = topology.nodes.map(() => () => undefined);
    for (let l = 0; l < n; l++) {
      this.capacity[l] = mbpsToBytesPerSec(traces[l].rateAt(0));
      this.scheduleCapacityChange(l, 0);
    }
  }

  transportFor(node: string): NodeTransport {
    const from = this.topology.nodeIndex(node);
    return {
      node,
      send: (to, bytes, body) => this.send(from, this.topology.nodeIndex(to), bytes, body),
      queued: (to) => this.queued(from, this.topology.nodeIndex(to)),
      onMessage: (handler) => {
        this.handlers[from] = handler as (d: Delivery) => void;
      },
    };
  }

  send(from: number, to: number, bytes: number, body: unknown): void {
    const now = this.events.now();
    if (from === to) {
      // A node talking to itself (a co-located server and worker) uses no WAN.
      this.events.at(now, () => this.deliver(from, to, { bytes, body, enqueuedAt: now }, now, now));
      return;
    }
    const conn = this.connection(from, to);
    conn.queue.push({ bytes, body, enqueuedAt: now });
    if (!conn.active) {
      conn.active = true;
      conn.rate = 0;
      this.startHead(conn, now);
      if (!conn.listed) this.active.push(conn);
      conn.listed = true;
      this.dirty = true;
    }
  }

  queued(from: number, to: number): number {
    const conn = this.connections.get(from * this.topology.nodes.length + to);
    return conn ? conn.queue.length - conn.head : 0;
  }

  /** The time of the next message completion, or Infinity. */
  nextFinishTime(): number {
    for (;;) {
      const top = this.finishes.peek();
      if (!top) return Infinity;
      if (top.version === top.conn.version) return top.time;
      this.finishes.pop();
    }
  }

  /** Complete every message whose last byte leaves at or before `now`. */
  completeDue(now: number): void {
    for (;;) {
      const top = this.finishes.peek();
      if (!top || top.time > now) return;
      this.finishes.pop();
      if (top.version !== top.conn.version) continue;
      this.completeHead(top.conn, now);
    }
  }

  /** Recompute the max-min fair rates if anything changed since the last time. */
  settle(now: number): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.account(now);
    this.recomputations++;
    // Drop connections that went idle; bring the others' progress up to now.
    let w = 0;
    for (const conn of this.active) {
      if (!conn.active) {
        conn.listed = false;
        continue;
      }
      this.active[w++] = conn;
      conn.remaining = Math.max(0, conn.remaining - conn.rate * (now - conn.anchor));
      conn.anchor = now;
    }
    this.active.length = w;
    maxMinRates(this.active, this.capacity);
    this.linkRate.fill(0);
    this.finishes.clear(); // every active connection gets a fresh entry below
    for (const conn of this.active) {
      for (const l of conn.route) this.linkRate[l] += conn.rate;
      this.scheduleFinish(conn);
    }
  }

  /** Flows with no positive rate (waiting on a link at 0), for stall reports. */
  stalledLinks(): string[] {
    const names = new Set<string>();
    for (const conn of this.active) {
      if (conn.rate > 0) continue;
      for (const l of conn.route) if (this.capacity[l] === 0) names.add(this.linkName(l));
    }
    return [...names];
  }

  hasActiveFlows(): boolean {
    return this.active.some((c) => c.active);
  }

  /** Close the link accounting at `now` and return bytes carried per bin. */
  linkUsage(now: number): LinkUsage {
    this.account(now);
    return { carriedBytes: this.carried, binS: this.binS };
  }

  linkName(l: number): string {
    const link = this.topology.links[l];
    return `${this.topology.nodes[link.from]}->${this.topology.nodes[link.to]}`;
  }

  // ------------------------------------------------------------------ internals

  private connection(from: number, to: number): Connection {
    const key = from * this.topology.nodes.length + to;
    let conn = this.connections.get(key);
    if (!conn) {
      const route = this.topology.route(from, to);
      conn = {
        from, to, route, delayS: this.topology.routeDelay(route), queue: [], head: 0,
        active: false, listed: false, rate: 0, remaining: 0, anchor: 0, sentAt: 0, finish: Infinity, version: 0,
      };
      this.connections.set(key, conn);
    }
    return conn;
  }

  private startHead(conn: Connection, now: number): void {
    conn.remaining = conn.queue[conn.head].bytes;
    conn.anchor = now;
    conn.sentAt = now;
  }

  private scheduleFinish(conn: Connection): void {
    conn.version++;
    conn.finish = conn.remaining <= EPSILON_BYTES ? conn.anchor : conn.rate > 0 ? conn.anchor + conn.remaining / conn.rate : Infinity;
    if (conn.finish < Infinity) this.finishes.push({ time: conn.finish, seq: this.finishSeq++, conn, version: conn.version });
  }

  private completeHead(conn: Connection, now: number): void {
    const message = conn.queue[conn.head];
    conn.queue[conn.head++] = undefined as unknown as Message;
    const sentAt = conn.sentAt;
    this.events.at(now + conn.delayS, () => this.deliver(conn.from, conn.to, message, sentAt, now + conn.delayS));
    if (conn.head > 4096) {
      conn.queue.splice(0, conn.head);
      conn.head = 0;
    }
    if (conn.head < conn.queue.length) {
      // The next message follows on the same stream at the same rate.
      this.startHead(conn, now);
      this.scheduleFinish(conn);
    } else {
      conn.queue.length = 0;
      conn.head = 0;
      conn.active = false;
      conn.version++;
      this.dirty = true;
    }
  }

  private deliver(from: number, to: number, message: Message, sentAt: number, deliveredAt: number): void {
    this.lastDeliveryAt = deliveredAt;
    const nodes = this.topology.nodes;
    this.handlers[to]({
      from: nodes[from], to: nodes[to], bytes: message.bytes, body: message.body,
      enqueuedAt: message.enqueuedAt, sentAt, deliveredAt,
    });
  }

  private scheduleCapacityChange(link: number, after: number): void {
    const next = this.traces[link].nextChangeAfter(after);
    if (next === Infinity) return;
    this.events.at(next, () => {
      const rate = mbpsToBytesPerSec(this.traces[link].rateAt(next));
      if (rate !== this.capacity[link]) {
        // Rates of the flows on this link are about to change: settle the
        // accounting with the old capacities first.
        this.account(next);
        this.capacity[link] = rate;
        if (this.linkRate[link] > 0 || this.active.some((c) => c.route.includes(link))) this.dirty = true;
      }
      this.scheduleCapacityChange(link, next);
    });
  }

  /** Add each link's bytes since the last accounting into its time bins. */
  private account(now: number): void {
    const from = this.lastAccounted;
    if (now <= from) return;
    this.lastAccounted = now;
    for (let l = 0; l < this.linkRate.length; l++) {
      const rate = this.linkRate[l];
      if (rate <= 0) continue;
      let t = from;
      while (t < now) {
        const bin = Math.floor(t / this.binS);
        const binEnd = (bin + 1) * this.binS;
        const until = Math.min(now, binEnd);
        this.addCarried(l, bin, rate * (until - t));
        t = until;
      }
    }
  }

  private addCarried(link: number, bin: number, bytes: number): void {
    let bins = this.carried[link];
    if (bin >= bins.length) {
      const grown = new Float64Array(Math.max(bin + 1, bins.length * 2));
      grown.set(bins);
      this.carried[link] = bins = grown;
    }
    bins[bin] += bytes;
  }
}

/**
 * Max-min fair rates by progressive filling: repeatedly take the link whose
 * remaining capacity per unfrozen flow is smallest, and freeze its flows at
 * that share. O(F·h·log L) with a lazy heap of link shares; typed arrays
 * indexed by link id keep it allocation-light, as it runs at every change.
 */
export function maxMinRates(flows: { route: number[]; rate: number }[], capacity: Float64Array): void {
  const links = capacity.length;
  const scratch = scratchFor(links);
  const { remaining, unfrozen, start } = scratch;
  unfrozen.fill(0);
  let entries = 0;
  for (const flow of flows) {
    flow.rate = -1;
    for (const l of flow.route) unfrozen[l]++;
    entries += flow.route.length;
  }
  // Flows on each link, as one array cut at start[l] (counting sort).
  let offset = 0;
  for (let l = 0; l < links; l++) {
    start[l] = offset;
    offset += unfrozen[l];
  }
  start[links] = offset;
  const onLink = entries > scratch.onLink.length ? (scratch.onLink = new Int32Array(entries * 2)) : scratch.onLink;
  const fill = scratch.fill;
  fill.set(start.subarray(0, links));
  flows.forEach((flow, f) => {
    for (const l of flow.route) onLink[fill[l]++] = f;
  });
  // A link's share only grows as flows elsewhere freeze (they take at most
  // the current minimum), so heap keys are lower bounds: an entry whose
  // link's share has grown since is pushed back with the current share.
  const heap = scratch.heap;
  heap.clear();
  for (let l = 0; l < links; l++) {
    if (unfrozen[l] === 0) continue;
    remaining[l] = capacity[l];
    heap.push(remaining[l] / unfrozen[l], l);
  }
  while (heap.size > 0) {
    const key = heap.topKey();
    const link = heap.topId();
    heap.pop();
    if (unfrozen[link] === 0) continue;
    const share = Math.max(0, remaining[link]) / unfrozen[link];
    if (share > key) {
      heap.push(share, link);
      continue;
    }
    for (let k = start[link]; k < start[link + 1]; k++) {
      const flow = flows[onLink[k]];
      if (flow.rate >= 0) continue;
      flow.rate = share;
      for (const m of flow.route) {
        remaining[m] -= share;
        unfrozen[m]--;
      }
    }
  }
  for (const flow of flows) if (flow.rate < 0) flow.rate = 0;
}

interface Scratch {
  remaining: Float64Array;
  unfrozen: Int32Array;
  start: Int32Array;
  fill: Int32Array;
  onLink: Int32Array;
  heap: ShareHeap;
}

let scratch: Scratch | null = null;

function scratchFor(links: number): Scratch {
  if (!scratch || scratch.remaining.length < links) {
    scratch = {
      remaining: new Float64Array(links), unfrozen: new Int32Array(links),
      start: new Int32Array(links + 1), fill: new Int32Array(links), onLink: new Int32Array(1024), heap: new ShareHeap(),
    };
  }
  if (scratch.unfrozen.length !== links) {
    // Views of the right length, so fill(0) and loops over `links` stay exact.
    return {
      ...scratch,
      remaining: scratch.remaining.subarray(0, links), unfrozen: scratch.unfrozen.subarray(0, links),
      start: scratch.start.subarray(0, links + 1), fill: scratch.fill.subarray(0, links),
    };
  }
  return scratch;
}

/** A min-heap of (share, link) in parallel typed arrays; ties go to the lower link id. */
class ShareHeap {
  private keys = new Float64Array(256);
  private ids = new Int32Array(256);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  topKey(): number { return this.keys[0]; }
  topId(): number { return this.ids[0]; }

  private less(i: number, j: number): boolean {
    return this.keys[i] < this.keys[j] || (this.keys[i] === this.keys[j] && this.ids[i] < this.ids[j]);
  }

  private swap(i: number, j: number): void {
    const k = this.keys[i]; this.keys[i] = this.keys[j]; this.keys[j] = k;
    const d = this.ids[i]; this.ids[i] = this.ids[j]; this.ids[j] = d;
  }

  push(key: number, id: number): void {
    if (this.size === this.keys.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T) => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.keys = grow(this.keys, (n) => new Float64Array(n));
      this.ids = grow(this.ids, (n) => new Int32Array(n));
    }
    let i = this.size++;
    this.keys[i] = key; this.ids[i] = id;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): void {
    const last = --this.size;
    if (last <= 0) return;
    this.keys[0] = this.keys[last]; this.ids[0] = this.ids[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}
