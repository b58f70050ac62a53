/**
 * The flow-level network. Every (sender, receiver) pair has one connection,
 * a FIFO of messages of which only the head is on the wire, as in a TCP
 * stream. The head message is a fluid flow along the underlay route; directed
 * link capacities are shared max-min fairly among the connections that are
 * sending (or as TCP shares them: network.sharing: tcp, tcp-sharing.ts), recomputed whenever a connection starts or stops sending or a
 * capacity changes. A message is delivered one route delay after its last
 * byte left. Message boundaries on a busy connection change no rates, so
 * back-to-back messages cost no recomputation.
 *
 * A recomputation covers only what a change can affect (the idea of
 * SimGrid's selective update, System::update_modified_cnst_set in
 * src/kernel/lmm/System.cpp, taken further). Under max-min: progressive
 * filling freezes flows in rising order of rate, and until the first level
 * at which a changed link would act differently it repeats the last filling
 * exactly, so only the flows at or above that level that connect to a
 * changed link are refilled (`refilled`). Under tcp sharing: the connected
 * component, in the graph of sending connections and the links they cross,
 * of the links whose flows or capacity changed. Either way the arithmetic is
 * that of a full recomputation in the same order (links tie on the lower
 * id, flows keep their order), so the rates are bit for bit the same.
 *
 * A connection also needs its return route, as TCP needs its ACKs: while a
 * link on the route back from its receiver is at 0 Mbit/s it is paused
 * (off its links, progress kept) and resumes when the route back is up.
 * This is the one consequence of SimGrid's cross traffic (its default
 * network/crosstraffic, which constrains a flow by its return route at
 * weight 0.05) that is not small; the ACK bytes themselves are not
 * modelled, as with SimGrid's cross traffic off. Without a link at 0 no
 * rate changes.
 */
import { binIndex, LinkBins } from '../../util/bins.js';
import { KeyedHeap } from '../../util/keyed-heap.js';
import { popTop, siftDown, siftUp } from '../../util/indexed-heap.js';
import { mbpsToBytesPerSec } from '../../util/format.js';
import type { Trace } from '../../model/trace.js';
import type { Topology } from '../topology.js';
import type { Delivery, NodeTransport } from '../types.js';
import { wireBytes, type Framing } from '../wire.js';
import type { EventQueue } from './events.js';
import { insertByPriority } from '../send-queue.js';
import { tcpConnectionShape, weightedMaxMinRates, windowAfterIdle, type TcpSharing } from './tcp-sharing.js';

interface Message {
  bytes: number;
  body: unknown;
  enqueuedAt: number;
  priority?: number;
}

interface Connection {
  /** Index in SimNetwork.connList. */
  id: number;
  from: number;
  to: number;
  route: number[];
  /** The route's delay, when no link on it changes its delay over time (else null). */
  delayS: number | null;
  /** When the last message delivered (messages keep their order when a delay falls). */
  lastArrival: number;
  queue: Message[];
  /** Index of the head message in `queue` (messages before it are done). */
  head: number;
  active: boolean;
  /** In the `active` list (it stays there until the next settle after going idle). */
  listed: boolean;
  /** When it was put in the `active` list: the list is in this order. */
  seq: number;
  /** Marked while a settle gathers the component it belongs to. */
  inComponent: boolean;
  rate: number; // bytes/s
  /** The rate before the current settle. */
  previousRate: number;
  /** The link whose share froze its rate in the last filling (-1: none yet), and when (maxMinRates' count of freezes). */
  frozenBy: number;
  frozenAt: number;
  /** It started sending since the last settle. */
  fresh: boolean;
  /** The head message's completion time is in the heap, computed with the current rate. */
  scheduled: boolean;
  remaining: number; // wire bytes of the head message left at `anchor`
  anchor: number;
  sentAt: number;
  finish: number;
  /** network.sharing: tcp (tcp-sharing.ts): the route's RTT, share weight, window bound (wire bytes/s). */
  rtt: number;
  weight: number;
  windowCap: number;
  /** Its bound now (wire bytes/s): the window's, lower while slow start ramps. */
  cap: number;
  /** Its congestion window (payload bytes), and whether slow start still doubles it. */
  cwnd: number;
  ramping: boolean;
  /** Bumped to cancel a scheduled slow-start step. */
  rampToken: number;
  /** When it last went idle (-1: it never sent). */
  idleSince: number;
  /** The route back from its receiver (made when a link is at 0), and whether a link on it at 0 Mbit/s holds it. */
  reverse: number[] | null;
  paused: boolean;
}

/** Bytes carried per time bin, per directed link. */
export type LinkUsage = LinkBins;

/** One message's time on the wire: its flow, for an external check of the sharing (SimGrid's replay). */
export interface WireRecord {
  from: number;
  to: number;
  /** The directed links it crossed. */
  route: number[];
  /** Bytes on the links (payload plus framing). */
  wireBytes: number;
  /** When its first byte left (the connection's earlier messages had gone). */
  start: number;
  /** When its last byte left (delivery is one route delay later). */
  end: number;
  /** When it was handed to the connection, and its priority there (absent: 0). */
  enqueuedAt: number;
  priority?: number;
}

/** Payload bytes per wire byte. */
const PAYLOAD_PER_WIRE_BYTE: Record<Framing, number> = { tcp: 1 / wireBytes(1, 'tcp'), none: 1 };

/** Messages smaller than this many bytes are complete (float round-off). */
const EPSILON_BYTES = 1e-6;

export class SimNetwork {
  private readonly capacity: Float64Array; // bytes/s per directed link
  private readonly connections = new Map<number, Connection>();
  private readonly connList: Connection[] = [];
  /**
   * Sending connections in the order they started sending (a connection that
   * was idle at a settle starts again at the end). An entry is current while
   * its seq (activeSeq, alongside) is its connection's seq and the
   * connection is listed; the others are stale, and the list is compacted
   * when they are half of it (so a settle does not walk every connection).
   */
  private readonly active: Connection[] = [];
  private readonly activeSeq: number[] = [];
  private stale = 0;
  private activations = 0;
  /** Connections that went idle since the last settle. */
  private idled: Connection[] = [];
  /** Per link, the sending connections that cross it. */
  private readonly onLink: Connection[][];
  /** Links whose flows or capacity changed since the last settle. */
  private touched: number[] = [];
  /** The lowest rate of a connection that stopped sending since the last settle. */
  private departedMin = Infinity;
  private readonly linkMark: Uint8Array;
  private readonly busyMark: Uint8Array;
  /** Head-message completion times by connection id; an entry is live while it equals the connection's `finish`. */
  private readonly finishes = new KeyedHeap();
  private dirty = false;
  /** Links that may have a positive aggregate rate (each once, busyMark): the ones at 0 are dropped as accounting meets them. */
  private busyLinks: number[] = [];
  /** How many links are at 0 Mbit/s now, and the connections a link at 0 on their return route holds. */
  private zeroLinks = 0;
  private readonly paused = new Set<Connection>();
  private readonly handlers: ((d: Delivery) => void)[];
  // link accounting
  private readonly linkRate: Float64Array;
  /** Per link, the capacity a refilling starts from (what the connections that keep their rates leave). */
  private readonly startCapacity: Float64Array;
  /** Scratch for one link's connections in some order (divergence, reachable, linkSum; each is done with it before the next). */
  private readonly orderScratch: Connection[] = [];
  /** Per link, the time up to which its bytes are in `carried` (a link is brought up to date when its rate changes). */
  private readonly linkAccountedAt: Float64Array;
  /** The time up to which every link's bytes are in `carried`. */
  private lastAccounted = 0;
  private readonly carried: LinkBins;
  /** Number of rate recomputations, for benchmarks. */
  recomputations = 0;
  /** Connections given a rate, summed over the recomputations (each covers the affected component only), for benchmarks. */
  flowsRated = 0;
  /** Simulated time of the last delivery (progress marker). */
  lastDeliveryAt = 0;
  /** When set, every message's time on the wire is appended to it. */
  wireLog: WireRecord[] | null = null;

  constructor(
    readonly topology: Topology,
    private readonly traces: Trace[],
    private readonly events: EventQueue,
    private readonly binS = 1,
    /** How a message's payload becomes bytes on the links (see net/wire.ts). */
    private readonly framing: Framing = 'tcp',
    /** Per link, its delay over time (values in ms), or null: the topology's constant delay. */
    private readonly delayTraces: (Trace | null)[] = [],
    /** network.sharing: tcp, else null (pure max-min). */
    private readonly tcp: TcpSharing | null = null,
  ) {
    const n = topology.links.length;
    this.capacity = new Float64Array(n);
    this.linkRate = new Float64Array(n);
    this.startCapacity = new Float64Array(n);
    this.linkAccountedAt = new Float64Array(n);
    this.carried = new LinkBins(n, binS);
    this.onLink = Array.from({ length: n }, () => []);
    this.linkMark = new Uint8Array(n);
    this.busyMark = new Uint8Array(n);
    this.handlers = topology.nodes.map(() => () => undefined);
    for (let l = 0; l < n; l++) {
      this.capacity[l] = mbpsToBytesPerSec(traces[l].rateAt(0));
      if (this.capacity[l] === 0) this.zeroLinks++;
      this.scheduleCapacityChange(l, 0);
    }
  }

  transportFor(node: string): NodeTransport {
    const from = this.topology.nodeIndex(node);
    return {
      node,
      send: (to, bytes, body, priority) => this.send(from, this.topology.nodeIndex(to), bytes, body, priority),
      queued: (to) => this.queued(from, this.topology.nodeIndex(to)),
      onMessage: (handler) => {
        this.handlers[from] = handler as (d: Delivery) => void;
      },
    };
  }

  send(from: number, to: number, bytes: number, body: unknown, priority = 0): void {
    const now = this.events.now();
    if (from === to) {
      // A node talking to itself (a co-located server and worker) uses no WAN.
      this.events.at(now, () => this.deliver(from, to, { bytes, body, enqueuedAt: now }, now, now));
      return;
    }
    const conn = this.connection(from, to);
    const message: Message = priority === 0 ? { bytes, body, enqueuedAt: now } : { bytes, body, enqueuedAt: now, priority };
    insertByPriority(conn.queue, message, conn.active ? conn.head + 1 : conn.head);
    if (!conn.active) {
      conn.active = true;
      conn.rate = 0;
      this.startHead(conn, now);
      if (this.returnBlocked(conn)) {
        conn.paused = true;
        conn.finish = Infinity;
        this.paused.add(conn);
      } else {
        this.startSending(conn, now);
      }
    }
  }

  /** A connection with a message goes onto its links (a new one, or one back from a pause); it is rated at the next settle. */
  private startSending(conn: Connection, now: number): void {
    conn.fresh = true;
    conn.rate = 0;
    conn.anchor = now;
    if (this.tcp) this.startWindow(conn, now);
    if (!conn.listed) {
      conn.seq = this.activations++;
      this.active.push(conn);
      this.activeSeq.push(conn.seq);
    }
    conn.listed = true;
    for (const l of conn.route) this.onLink[l].push(conn);
    this.touchRoute(conn);
    this.dirty = true;
  }

  /** Off its links, as when it goes idle, with its message and progress kept. */
  private stopSending(conn: Connection, now: number): void {
    conn.remaining = Math.max(0, conn.remaining - conn.rate * (now - conn.anchor));
    conn.anchor = now;
    if (this.tcp) {
      // the window it had in use, for a restart after idle
      if (!conn.ramping) this.keepWindowInUse(conn);
      conn.ramping = false;
      conn.rampToken++;
      conn.idleSince = now;
    }
    this.departedMin = Math.min(this.departedMin, conn.rate);
    conn.fresh = false;
    conn.scheduled = false;
    conn.finish = Infinity;
    for (const l of conn.route) {
      const on = this.onLink[l];
      const k = on.indexOf(conn);
      on[k] = on[on.length - 1];
      on.pop();
    }
    this.touchRoute(conn);
    this.idled.push(conn);
    this.dirty = true;
  }

  /** Does a link at 0 Mbit/s on its route back hold it? */
  private returnBlocked(conn: Connection): boolean {
    if (this.zeroLinks === 0) return false;
    // (a topology with no route back, as some of the tests', has nothing to hold it)
    conn.reverse ??= this.topology.nextHopsTowards(conn.from)[conn.to] < 0 ? [] : this.topology.route(conn.to, conn.from);
    for (const l of conn.reverse) if (this.capacity[l] === 0) return true;
    return false;
  }

  /** Link l went to 0 Mbit/s (or came back): pause the sending connections whose route back crosses it (resume those it no longer holds). */
  private returnRoutesChanged(l: number, now: number): void {
    if (this.capacity[l] === 0) {
      for (const conn of this.connList) {
        if (!conn.active || conn.paused || !this.returnBlocked(conn)) continue;
        this.stopSending(conn, now);
        conn.rate = 0;
        conn.paused = true;
        this.paused.add(conn);
      }
    } else {
      for (const conn of [...this.paused].sort((a, b) => a.id - b.id)) {
        if (this.returnBlocked(conn)) continue;
        conn.paused = false;
        this.paused.delete(conn);
        this.startSending(conn, now);
      }
    }
  }

  queued(from: number, to: number): number {
    const conn = this.connections.get(from * this.topology.nodes.length + to);
    return conn ? conn.queue.length - conn.head : 0;
  }

  private isLive(time: number, id: number): boolean {
    const conn = this.connList[id];
    return conn.active && conn.finish === time;
  }

  /** The time of the next message completion, or Infinity. */
  nextFinishTime(): number {
    const heap = this.finishes;
    while (heap.size > 0) {
      if (this.isLive(heap.topKey(), heap.topId())) return heap.topKey();
      heap.pop();
    }
    return Infinity;
  }

  /** Complete every message whose last byte leaves at or before `now`. */
  completeDue(now: number): void {
    const heap = this.finishes;
    while (heap.size > 0 && heap.topKey() <= now) {
      const time = heap.topKey();
      const id = heap.topId();
      heap.pop();
      if (this.isLive(time, id)) {
        const conn = this.connList[id];
        conn.scheduled = false; // its entry is gone
        this.completeHead(conn, now);
      }
    }
  }

  /** Recompute the max-min fair rates if anything changed since the last time. */
  settle(now: number): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.recomputations++;
    // Connections idle at this settle leave the list (their entries go stale).
    for (const conn of this.idled) {
      if ((conn.active && !conn.paused) || !conn.listed) continue;
      conn.listed = false;
      this.stale++;
    }
    this.idled.length = 0;
    if (this.stale * 2 > this.active.length) this.compact();
    const changed = this.touched.length; // these links come first in `links`
    const { flows, links } = this.tcp ? this.reachable(-Infinity) : this.refilled();
    this.flowsRated += flows.length;
    for (const conn of flows) conn.previousRate = conn.rate;
    if (this.tcp) weightedMaxMinRates(flows, this.capacity, this.tcp.bandwidthFactor);
    else maxMinRates(flows, this.capacity, this.startCapacity);
    // A link whose connections or capacity changed, or one of whose
    // connections has a new rate, has a new rate: its connections' rates
    // summed in the order a full recomputation sums them (the others' sums
    // are the same). Its bytes so far are counted at the old rate first.
    for (let i = 0; i < changed; i++) this.linkMark[links[i]] = 2;
    for (const conn of flows) if (conn.rate !== conn.previousRate) for (const l of conn.route) this.linkMark[l] = 2;
    for (const l of links) {
      if (this.linkMark[l] !== 2) continue;
      this.accountLink(l, now);
      const rate = this.linkSum(l);
      this.linkRate[l] = rate;
      if (rate > 0 && this.busyMark[l] === 0) {
        this.busyMark[l] = 1;
        this.busyLinks.push(l);
      }
    }
    for (const conn of flows) {
      conn.inComponent = false;
      conn.fresh = false;
      // A connection whose rate did not change keeps its progress anchor and
      // its completion time (already in the heap); the others are brought up
      // to now and rescheduled. Outdated heap entries are skipped when popped.
      if (conn.scheduled && conn.rate === conn.previousRate) continue;
      conn.remaining = Math.max(0, conn.remaining - conn.previousRate * (now - conn.anchor));
      conn.anchor = now;
      this.scheduleFinish(conn);
    }
    for (const l of links) this.linkMark[l] = 0;
  }

  /**
   * What the changes since the last settle can affect under max-min, and
   * from what level. Progressive filling freezes connections in rising
   * order of rate; until the first level at which a changed link would act
   * differently (divergence), it does exactly what the last filling did: the
   * same links freeze the same connections with the same arithmetic. So the
   * connections that froze below that level keep their rates, bit for bit;
   * the others connected to a changed link through connections at or above
   * it (and the new ones) are filled again, from the capacities the ones
   * below left, subtracted in the order filling froze them (startCapacity).
   */
  private refilled(): { flows: Connection[]; links: number[] } {
    let level = this.departedMin; // a connection that left changed the filling from its own level on
    this.departedMin = Infinity;
    for (const l of this.touched) level = Math.min(level, this.divergence(l));
    return this.reachable(level * (1 - 1e-9)); // a margin for safety: a lower cut only refills more
  }

  /**
   * The sending connections reachable from the touched links through
   * connections that are new or rated at or above `cut` (-Infinity: all,
   * the connected component) and the links on their routes; the
   * connections in list order, the links marked in linkMark (the touched
   * ones first). Sets each link's startCapacity: its capacity less the
   * rates of its other connections, in the order filling froze them.
   */
  private reachable(cut: number): { flows: Connection[]; links: number[] } {
    const links = this.touched;
    this.touched = [];
    const flows: Connection[] = [];
    const kept = this.orderScratch;
    for (let i = 0; i < links.length; i++) {
      const l = links[i];
      const on = this.onLink[l];
      let n = 0;
      for (let k = 0; k < on.length; k++) {
        const conn = on[k];
        if (!conn.fresh && conn.rate < cut) {
          kept[n++] = conn;
          continue;
        }
        if (conn.inComponent) continue;
        conn.inComponent = true;
        flows.push(conn);
        for (const m of conn.route) {
          if (this.linkMark[m] === 0) {
            this.linkMark[m] = 1;
            links.push(m);
          }
        }
      }
      sortPrefix(kept, n, frozenAfter);
      let left = this.capacity[l];
      for (let j = 0; j < n; j++) left -= kept[j].rate;
      this.startCapacity[l] = left;
    }
    return { flows: this.inListOrder(flows), links };
  }

  /**
   * The lowest level from which filling with link l as it is now may differ
   * from the last filling (Infinity: never): where l's share, as its
   * connections freeze at their last rates, would make it the bottleneck, or
   * where it last froze one itself.
   */
  private divergence(l: number): number {
    const old = this.orderScratch;
    const n = this.freezeOrder(l);
    let left = this.capacity[l];
    let unfrozen = this.onLink[l].length;
    for (let i = 0; i < n; i++) {
      const c = old[i];
      const share = Math.max(0, left) / unfrozen;
      if (share <= c.rate || c.frozenBy === l) return Math.min(share, c.rate);
      left -= c.rate;
      unfrozen--;
    }
    return unfrozen > 0 ? Math.max(0, left) / unfrozen : Infinity;
  }

  /** Into orderScratch[0, n), returning n: link l's connections that the last filling rated (not fresh), in the order it froze them. */
  private freezeOrder(l: number): number {
    const out = this.orderScratch;
    let n = 0;
    for (const c of this.onLink[l]) if (!c.fresh) out[n++] = c;
    sortPrefix(out, n, frozenAfter);
    return n;
  }

  /** Link l's rate: its connections' positive rates summed in list order, as a full recomputation sums them. */
  private linkSum(l: number): number {
    const on = this.onLink[l];
    if (on.length === 1) return on[0].rate > 0 ? on[0].rate : 0;
    const ordered = this.orderScratch;
    for (let i = 0; i < on.length; i++) ordered[i] = on[i];
    sortPrefix(ordered, on.length, listedAfter);
    let sum = 0;
    for (let i = 0; i < on.length; i++) if (ordered[i].rate > 0) sum += ordered[i].rate;
    return sum;
  }

  /** Connections in list order (marked inComponent). */
  private inListOrder(flows: Connection[]): Connection[] {
    if (flows.length * 4 > this.active.length) {
      // most of them: take them in list order rather than sort
      let w = 0;
      const active = this.active;
      const seqs = this.activeSeq;
      for (let i = 0; i < active.length; i++) {
        const conn = active[i];
        if (conn.inComponent && seqs[i] === conn.seq) flows[w++] = conn;
      }
    } else {
      flows.sort((x, y) => x.seq - y.seq);
    }
    return flows;
  }

  /** Drop the stale entries of the active list. */
  private compact(): void {
    const { active, activeSeq } = this;
    let w = 0;
    for (let i = 0; i < active.length; i++) {
      const conn = active[i];
      if (!conn.listed || activeSeq[i] !== conn.seq) continue;
      active[w] = conn;
      activeSeq[w++] = activeSeq[i];
    }
    active.length = w;
    activeSeq.length = w;
    this.stale = 0;
  }

  /** The sending connections, in list order. */
  private sending(): Connection[] {
    return this.active.filter((c, i) => c.active && !c.paused && c.listed && this.activeSeq[i] === c.seq);
  }

  /** Mark a connection's links as changed (its flow started or stopped). */
  private touchRoute(conn: Connection): void {
    for (const l of conn.route) this.touch(l);
  }

  private touch(l: number): void {
    if (this.linkMark[l] === 0) {
      this.linkMark[l] = 1;
      this.touched.push(l);
    }
  }

  /**
   * Check the incremental rates against a full recomputation over every
   * sending connection (tests call it after each instant): the connections
   * and links whose rate differs in any bit, described; empty when none.
   */
  differencesFromFullRecomputation(): string[] {
    const sending = this.sending();
    const full = sending.map((c) => ({ route: c.route, rate: 0 }));
    maxMinRates(full, this.capacity);
    const linkRate = new Float64Array(this.capacity.length);
    for (const f of full) if (f.rate > 0) for (const l of f.route) linkRate[l] += f.rate;
    const out: string[] = [];
    sending.forEach((c, i) => {
      if (!Object.is(c.rate, full[i].rate)) out.push(`${this.topology.nodes[c.from]}->${this.topology.nodes[c.to]}: ${c.rate} B/s, a full recomputation gives ${full[i].rate}`);
    });
    for (let l = 0; l < linkRate.length; l++) {
      if (!Object.is(this.linkRate[l], linkRate[l])) out.push(`${this.linkName(l)} carries ${this.linkRate[l]} B/s, a full recomputation gives ${linkRate[l]}`);
    }
    return out;
  }

  /** Flows with no positive rate (waiting on a link at 0, on their route or the route back), for stall reports. */
  stalledLinks(): string[] {
    const names = new Set<string>();
    for (const conn of this.sending()) {
      if (conn.rate > 0) continue;
      for (const l of conn.route) if (this.capacity[l] === 0) names.add(this.linkName(l));
    }
    for (const conn of this.paused) for (const l of [...conn.route, ...conn.reverse!]) if (this.capacity[l] === 0) names.add(this.linkName(l));
    return [...names];
  }

  /** Connections sending now. */
  sendingConnections(): number {
    return this.sending().length;
  }

  hasActiveFlows(): boolean {
    return this.paused.size > 0 || this.active.some((c) => c.active);
  }

  /** Count every link's bytes up to `now` and return bytes carried per bin (bins before now's are complete). */
  linkUsage(now: number): LinkUsage {
    this.account(now);
    return this.carried;
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
      const shape = this.tcp
        ? tcpConnectionShape(this.tcp, this.topology.routeDelay(route) + this.topology.routeDelay(this.topology.route(to, from)), (b) => wireBytes(b, this.framing))
        : { rtt: 0, weight: 1, windowCap: Infinity };
      conn = {
        id: this.connList.length, from, to, route, lastArrival: 0, queue: [], head: 0,
        delayS: route.some((l) => this.delayTraces[l]) ? null : this.topology.routeDelay(route),
        active: false, listed: false, seq: 0, inComponent: false, rate: 0, previousRate: 0, frozenBy: -1, frozenAt: 0, fresh: false, scheduled: false, remaining: 0, anchor: 0, sentAt: 0, finish: Infinity,
        ...shape, cap: shape.windowCap, cwnd: 0, ramping: false, rampToken: 0, idleSince: -1, reverse: null, paused: false,
      };
      this.connections.set(key, conn);
      this.connList.push(conn);
    }
    return conn;
  }

  /**
   * network.sharing: tcp — a connection starts sending: a new one from the
   * initial window, one back from idle from what is left of its window; slow
   * start doubles it every RTT while it is what limits the rate.
   */
  private startWindow(conn: Connection, now: number): void {
    const tcp = this.tcp!;
    conn.cwnd = conn.idleSince < 0 ? tcp.initialWindowBytes : windowAfterIdle(tcp, conn.cwnd, now - conn.idleSince, conn.rtt);
    conn.rampToken++;
    conn.ramping = conn.cwnd < tcp.windowBytes;
    conn.cap = conn.ramping ? Math.min(conn.windowCap, wireBytes(conn.cwnd, this.framing) / conn.rtt) : conn.windowCap;
    if (conn.ramping) this.scheduleRampStep(conn, now + conn.rtt);
  }

  private scheduleRampStep(conn: Connection, at: number): void {
    const token = conn.rampToken;
    this.events.at(at, () => {
      if (conn.rampToken !== token || !conn.active || !conn.ramping) return;
      if (conn.rate < conn.cap * (1 - 1e-9)) {
        // the window no longer limits it: its rate is the path's share
        conn.ramping = false;
        conn.cap = conn.windowCap; // (not binding: no rate changes)
        this.keepWindowInUse(conn);
        return;
      }
      conn.cwnd = Math.min(this.tcp!.windowBytes, 2 * conn.cwnd);
      conn.ramping = conn.cwnd < this.tcp!.windowBytes;
      conn.cap = Math.min(conn.windowCap, wireBytes(conn.cwnd, this.framing) / conn.rtt);
      this.touchRoute(conn);
      this.dirty = true;
      if (conn.ramping) this.scheduleRampStep(conn, at + conn.rtt);
    });
  }

  /** A connection past slow start has (at least) the window its rate keeps in flight: rate x RTT, in payload bytes. */
  private keepWindowInUse(conn: Connection): void {
    conn.cwnd = Math.max(conn.cwnd, Math.min(this.tcp!.windowBytes, conn.rate * conn.rtt * PAYLOAD_PER_WIRE_BYTE[this.framing]));
  }

  private startHead(conn: Connection, now: number): void {
    conn.remaining = wireBytes(conn.queue[conn.head].bytes, this.framing);
    conn.anchor = now;
    conn.sentAt = now;
  }

  private scheduleFinish(conn: Connection): void {
    const finish = conn.remaining <= EPSILON_BYTES ? conn.anchor : conn.rate > 0 ? conn.anchor + conn.remaining / conn.rate : Infinity;
    // The heap already holds an entry for exactly this completion: do not add a twin.
    const alreadyQueued = conn.scheduled && conn.finish === finish;
    conn.scheduled = true;
    conn.finish = finish;
    if (finish < Infinity && !alreadyQueued) this.finishes.push(finish, conn.id);
  }


  private completeHead(conn: Connection, now: number): void {
    const message = conn.queue[conn.head];
    conn.queue[conn.head++] = undefined as unknown as Message;
    const sentAt = conn.sentAt;
    this.wireLog?.push({
      from: conn.from, to: conn.to, route: conn.route, wireBytes: wireBytes(message.bytes, this.framing), start: sentAt, end: now, enqueuedAt: message.enqueuedAt,
      ...(message.priority ? { priority: message.priority } : {}),
    });
    const arrival = conn.delayS !== null ? now + conn.delayS : this.arrivalOverTime(conn, now);
    this.events.at(arrival, () => this.deliver(conn.from, conn.to, message, sentAt, arrival));
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
      this.stopSending(conn, now);
    }
  }

  /**
   * When a message whose last byte leaves at `left` arrives over a route
   * whose delays change: hop by hop, each hop's delay as it is when the
   * message enters it, and never before the message ahead of it (a link
   * keeps its packets in order when its delay falls, as the emulator does).
   */
  private arrivalOverTime(conn: Connection, left: number): number {
    let t = left;
    for (const l of conn.route) {
      const trace = this.delayTraces[l];
      t += trace ? trace.rateAt(t) / 1000 : this.topology.links[l].delayS;
    }
    conn.lastArrival = Math.max(conn.lastArrival, t);
    return conn.lastArrival;
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
        // (the flows' rates change at the settle that follows, which counts their bytes so far)
        const outage = rate === 0 || this.capacity[link] === 0;
        if (rate === 0) this.zeroLinks++;
        else if (this.capacity[link] === 0) this.zeroLinks--;
        this.capacity[link] = rate;
        if (this.onLink[link].length > 0 || this.linkRate[link] > 0) {
          this.touch(link);
          this.dirty = true;
        }
        if (outage) this.returnRoutesChanged(link, next);
      }
      this.scheduleCapacityChange(link, next);
    });
  }

  /** Add every link's bytes since it was last counted into its time bins, up to `now`. */
  private account(now: number): void {
    if (now <= this.lastAccounted) return;
    this.lastAccounted = now;
    let w = 0;
    for (const l of this.busyLinks) {
      this.accountLink(l, now);
      if (this.linkRate[l] <= 0) {
        this.busyMark[l] = 0; // idle now: out of the list until a flow gives it a rate again
        continue;
      }
      this.busyLinks[w++] = l;
    }
    this.busyLinks.length = w;
  }

  /** Add link l's bytes at its current rate since it was last counted into its time bins. */
  private accountLink(l: number, now: number): void {
    const from = this.linkAccountedAt[l];
    if (now <= from) return;
    this.linkAccountedAt[l] = now;
    const rate = this.linkRate[l];
    if (rate <= 0) return;
    // Bins are counted by index, so a bin's end computed in floating point
    // (43 * 0.1 = 4.3000000000000007, floor(4.3 / 0.1) = 42) never stalls the walk.
    let t = from;
    for (let bin = binIndex(from, this.binS); t < now; bin++) {
      const until = Math.min(now, (bin + 1) * this.binS);
      if (until > t) this.carried.add(l, bin, rate * (until - t));
      t = until;
    }
  }
}

/** Whether a comes after b in the list of sending connections. */
function listedAfter(a: Connection, b: Connection): boolean {
  return a.seq > b.seq;
}

/** Sort xs[0, n) by `after` (a strict order): insertion sort for the short lists most links have, else the built-in sort. */
function sortPrefix(xs: Connection[], n: number, after: (a: Connection, b: Connection) => boolean): void {
  if (n > 16) {
    const head = xs.slice(0, n).sort((a, b) => (after(a, b) ? 1 : after(b, a) ? -1 : 0));
    for (let i = 0; i < n; i++) xs[i] = head[i];
    return;
  }
  for (let j = 1; j < n; j++) {
    const x = xs[j];
    let i = j;
    while (i > 0 && after(xs[i - 1], x)) {
      xs[i] = xs[i - 1];
      i--;
    }
    xs[i] = x;
  }
}

/** Whether progressive filling froze a after b. */
function frozenAfter(a: Connection, b: Connection): boolean {
  return a.frozenAt > b.frozenAt;
}

/**
 * Max-min fair rates by progressive filling: repeatedly take the link whose
 * remaining capacity per unfrozen flow is smallest, and freeze its flows at
 * that share. O(F·h·log L) with a lazy heap of link shares; typed arrays
 * indexed by link id keep it allocation-free, as it runs at every change.
 */
export function maxMinRates(
  flows: { route: number[]; rate: number; frozenBy?: number; frozenAt?: number }[],
  capacity: Float64Array,
  /** Per link, the capacity to share (default: `capacity`); routes' bounds are still their smallest `capacity`. */
  startCapacity: Float64Array = capacity,
): void {
  const scratch = scratchFor(capacity.length);
  const { remaining, unfrozen, start, fill, used, heapKey, heapLink, demand, pos } = scratch;
  // The links the flows cross (unfrozen[] is all zeros between calls).
  let usedCount = 0;
  let entries = 0;
  for (let f = 0; f < flows.length; f++) {
    const flow = flows[f];
    flow.rate = -1;
    const route = flow.route;
    for (let h = 0; h < route.length; h++) {
      const l = route[h];
      if (unfrozen[l]++ === 0) used[usedCount++] = l;
    }
    entries += route.length;
  }
  // Flows on each used link, as one array: link l's flows sit at [start[l], start[l] + count) (counting sort).
  let offset = 0;
  for (let u = 0; u < usedCount; u++) {
    const l = used[u];
    start[l] = offset;
    fill[l] = offset;
    offset += unfrozen[l];
    demand[l] = 0;
  }
  if (entries > scratch.onLink.length) scratch.onLink = new Int32Array(entries * 2);
  const onLink = scratch.onLink;
  for (let f = 0; f < flows.length; f++) {
    const route = flows[f].route;
    let bound = Infinity;
    for (let h = 0; h < route.length; h++) {
      const l = route[h];
      onLink[fill[l]++] = f;
      if (capacity[l] < bound) bound = capacity[l];
    }
    for (let h = 0; h < route.length; h++) demand[route[h]] += bound;
  }
  // A heap of (share, link), ties to the lower link, one entry per link
  // (pos: where). A link's share only grows as flows elsewhere freeze (they
  // take at most the current minimum), so keys are lower bounds: an entry
  // whose link's share has grown since is given the current share and
  // sifted down. In floating point a share can come out a rounding below
  // its key; such a key is lowered at once, so the link taken is always the
  // one whose current share is smallest (ties: lower id), whatever the
  // heap's history — the order a refill from any point repeats exactly.
  //
  // A link whose capacity exceeds what its flows could ever send (each at
  // most its route's smallest capacity), with a margin far above float
  // round-off, never has the smallest share while it has an unfrozen flow
  // (its share stays above the level of every flow still on it), so it
  // would only be popped: it is left out. Most links of a mesh component are
  // such (79% in the 512-node ring's). The rates are bit for bit the same.
  let size = 0;
  for (let u = 0; u < usedCount; u++) {
    const l = used[u];
    remaining[l] = startCapacity[l];
    pos[l] = -1;
    if (remaining[l] > demand[l] * (1 + SLACK_MARGIN)) continue;
    heapKey[size] = remaining[l] / unfrozen[l];
    heapLink[size] = l;
    pos[l] = size++;
  }
  for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(heapKey, heapLink, pos, size, i);
  // Once every flow is frozen the rest of the heap holds only links with no
  // unfrozen flow, whose removal changes nothing: stop there (most links of a
  // mesh component are never a bottleneck and would be popped last).
  let unfrozenFlows = flows.length;
  while (size > 0 && unfrozenFlows > 0) {
    const key = heapKey[0];
    const link = heapLink[0];
    const share = unfrozen[link] === 0 ? 0 : Math.max(0, remaining[link]) / unfrozen[link];
    if (share > key) {
      heapKey[0] = share;
      siftDown(heapKey, heapLink, pos, size, 0);
      continue;
    }
    // take it out of the heap, then freeze its flows (which may lower other links' keys)
    size = popTop(heapKey, heapLink, pos, size);
    if (unfrozen[link] === 0) continue;
    const end = fill[link];
    for (let k = start[link]; k < end; k++) {
      const flow = flows[onLink[k]];
      if (flow.rate >= 0) continue;
      flow.rate = share;
      flow.frozenBy = link;
      flow.frozenAt = ++freezes;
      unfrozenFlows--;
      const route = flow.route;
      for (let h = 0; h < route.length; h++) {
        const m = route[h];
        remaining[m] -= share;
        const left = --unfrozen[m];
        const p = pos[m];
        if (p >= 0 && left > 0) {
          const mShare = Math.max(0, remaining[m]) / left;
          if (mShare < heapKey[p]) {
            heapKey[p] = mShare;
            siftUp(heapKey, heapLink, pos, p);
          }
        }
      }
    }
  }
  for (let f = 0; f < flows.length; f++) {
    if (flows[f].rate >= 0) continue;
    flows[f].rate = 0;
    flows[f].frozenBy = -1;
    flows[f].frozenAt = ++freezes;
  }
  for (let u = 0; u < usedCount; u++) unfrozen[used[u]] = 0;
}

/** Flows frozen so far, by every filling: a flow's number says when (tie-breaks the order on a link). */
let freezes = 0;

/** Relative margin by which a link's capacity must exceed its flows' demand to be left out of the heap. */
const SLACK_MARGIN = 1e-6;

interface Scratch {
  remaining: Float64Array;
  /** Per link, the sum of its flows' route bottleneck capacities (what they could send at most). */
  demand: Float64Array;
  unfrozen: Int32Array;
  start: Int32Array;
  fill: Int32Array;
  onLink: Int32Array;
  used: Int32Array;
  heapKey: Float64Array;
  heapLink: Int32Array;
  /** Per link, its index in the heap (-1: not in it). */
  pos: Int32Array;
}

const scratches = new Map<number, Scratch>();

/** Work arrays for `links` links, reused across calls (unfrozen stays all zeros between calls). */
function scratchFor(links: number): Scratch {
  let scratch = scratches.get(links);
  if (!scratch) {
    scratch = {
      remaining: new Float64Array(links), demand: new Float64Array(links), unfrozen: new Int32Array(links), start: new Int32Array(links), fill: new Int32Array(links),
      onLink: new Int32Array(1024), used: new Int32Array(links), heapKey: new Float64Array(links), heapLink: new Int32Array(links), pos: new Int32Array(links),
    };
    scratches.set(links, scratch);
  }
  return scratch;
}
