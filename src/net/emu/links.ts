/**
 * What every link backend is given and offers: a directed link's shape
 * (rate, delay, loss, queue) and the interface a built emulated network
 * presents to the runner, so that nothing above src/net tells the kernel
 * backend (src/net/kernel: veths shaped by htb) from the native one
 * (src/net/native: geobed's packet-level link emulator behind TUN devices).
 * Which backend a scenario gets is decided in one place, run/link-backends.ts.
 */
import { FRAME_BYTES } from '../wire.js';

/** Leaf queue length when the scenario names none: Linux's default txqueuelen. */
export const DEFAULT_QUEUE_PACKETS = 1000;


export type Queueing = 'fair' | 'fifo';

/** Which nodes each namespace has routes to: all of them (the kernel forwards), or its neighbours only (the relay underlay: the agents forward). */
export type RouteScope = 'all' | 'neighbours';

/** Each namespace's TCP: congestion control (set on its routes), buffer limits, slow start after idle. */
export interface NamespaceTcp {
  congestion: string;
  /** tcp_rmem/tcp_wmem max in bytes, or null: as the host has them. */
  bufferBytes: number | null;
  slowStartAfterIdle: boolean;
}

/** A network built without a scenario (tests, benchmarks): bbr, the host's buffers, windows kept while idle. */
export const DEFAULT_NAMESPACE_TCP: NamespaceTcp = { congestion: 'bbr', bufferBytes: null, slowStartAfterIdle: false };

/** The sysctl settings (for `sysctl -w`) that give a namespace its TCP (the congestion control goes on its routes: congctl). */
export function tcpSysctls(tcp: NamespaceTcp): string[] {
  const settings = [`net.ipv4.tcp_slow_start_after_idle=${tcp.slowStartAfterIdle ? 1 : 0}`];
  // the defaults stay Linux's own (4096 / 131072 / 16384): autotuning grows a connection's buffers up to the max
  if (tcp.bufferBytes !== null) settings.push(`net.ipv4.tcp_rmem=4096 131072 ${tcp.bufferBytes}`, `net.ipv4.tcp_wmem=4096 16384 ${tcp.bufferBytes}`);
  return settings;
}

export interface LinkShape {
  mbps: number;
  delayS: number;
  /** The largest delay it will be given (a delay that changes over time), else delayS. */
  maxDelayS?: number;
  /** Delay varies uniformly within delayS +- jitterS (netem reorders then). */
  jitterS?: number;
  lossPercent: number;
  queuePackets: number | null;
  /** Its delay or loss will change while the network runs (setDelay, setLoss). */
  varies?: boolean;
}

/**
 * The queue limit: the scenario's, else at least the link's bandwidth-delay
 * product (netem holds packets for the whole delay) and Linux's default.
 */
export function queueLimit(shape: LinkShape): number {
  if (shape.queuePackets !== null) return shape.queuePackets;
  const bdpPackets = Math.ceil((shape.mbps * 1e6 * Math.max(shape.delayS, shape.maxDelayS ?? 0)) / 8 / FRAME_BYTES);
  return Math.max(DEFAULT_QUEUE_PACKETS, 2 * bdpPackets);
}

/** One reading of a directed link's counters. */
export interface LinkCounterReading {
  link: number;
  /**
   * When the counters held these values, on the run's clock (seconds from
   * its epoch): the native emulator stamps its readings with its own clock,
   * zeroed at atEpoch; kernel links with the time the runner asked the
   * kernel. Stamped where they were taken, readings compare with the
   * traces over the instants they cover, not when Node got round to them.
   */
  atS: number;
  /** Bytes the link has sent since it was built (the backend's own byte accounting). */
  sentBytes: number;
  dropped: number;
  /** Bytes waiting in the link's queue. */
  backlogBytes: number;
}

/** A backend's link counters, read every `intervalMs` (at whole intervals of `clock`, the run's seconds) until stopped. */
export interface LinkCounters {
  start(intervalMs: number, onReading: (r: LinkCounterReading) => void, clock: () => number): void;
  stop(): Promise<void>;
}

/** A built emulated network: a namespace per node, its links carried by one backend. */
export interface EmulatedLinks {
  /** The run tag its namespaces carry (gb-<tag>-<node>). */
  readonly tag: string;
  /** The backend replays a link's Mahimahi trace itself (the runner does not schedule its rate changes). */
  readonly replaysMahimahi: boolean;
  namespaceOf(node: string): string;
  addressOf(node: string): string;
  /**
   * The interface inside every namespace that holds the node's address:
   * not the loopback, so that programs that skip loopback interfaces when
   * they look for their address (ps-lite, Open MPI) or are told an
   * interface (gloo's GLOO_SOCKET_IFNAME) find it.
   */
  readonly nodeInterface: string;
  setRate(linkId: number, mbps: number): void;
  /** Change a directed link's one-way delay now: packets already in flight keep theirs, and packets keep their order. */
  setDelay(linkId: number, delayS: number): void;
  setLoss(linkId: number, percent: number): void;
  counters(): LinkCounters;
  /**
   * The run's epoch is `epochMs` (WallClock time, a little ahead): a backend
   * that keeps its own time (trace replay, log times) counts from it, as the
   * run's clock, links.csv and the fidelity check do.
   */
  atEpoch(epochMs: number): void;
  /** Per-packet logs, where the backend writes them (else undefined). */
  startPacketLogs?(fileOf: (linkId: number) => string): void;
  /** Capture the packets each directed link sends, to a pcap file each, from when this resolves until teardown. */
  startCaptures(fileOf: (linkId: number) => string): Promise<void>;
  /** The process that moves the packets, when the backend runs one (the native link emulator); null when the kernel does. */
  emulatorPid(): number | null;
  /** What the backend refused since it was built (a bad command, a dead helper). */
  errors(): string[];
  teardown(): Promise<void>;
}
