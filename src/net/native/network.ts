/**
 * The emulated WAN on the native link emulator: one network namespace per
 * node, as with kernel shaping, but no veths: each namespace has a TUN
 * device (gbt) held by the one emulator process, which carries every packet
 * over the scenario's directed links itself — rate, delay, loss and queue
 * per link, hop by hop along the simulator's underlay routes; with `fair`
 * queueing (the default, as in kernel mode) each link serves its
 * (source, destination) pairs round-robin, ACKs apart. Node i
 * answers on 198.19.(i >> 8).(i & 255), as in kernel mode.
 */
import type { Topology } from '../topology.js';
import { batch, run } from '../emu/exec.js';
import { onTeardown } from '../../util/teardown.js';
import { claimTag } from '../emu/owners.js';
import { newRunTag, nodeAddress } from '../emu/addresses.js';
import { DEFAULT_NAMESPACE_TCP, queueLimit, tcpSysctls, type NamespaceTcp, type EmulatedLinks, type LinkCounterReading, type LinkCounters, type LinkShape, type Queueing, type RouteScope } from '../emu/links.js';
import { LinkEmulator } from './linkem.js';
import { ETHERNET_HEADER_BYTES } from '../wire.js';

export const TUN_NAME = 'gbt';

/** A link as the native emulator carries it: kernel mode's shape, plus what only it does. */
export interface NativeLinkShape extends LinkShape {
  /** May jitter reorder packets. */
  reorder?: boolean;
  /** Replay this Mahimahi trace (absolute path) instead of a rate. */
  mahimahi?: string | null;
}

export class NativeNetwork implements EmulatedLinks {
  readonly replaysMahimahi = true;
  /** (the TUN the link emulator reads: a point-to-point interface, not a loopback) */
  readonly nodeInterface = TUN_NAME;
  readonly namespaces: string[];
  private emulator: LinkEmulator | null = null;
  private unregister: (() => void) | null = null;
  private releaseTag: (() => void) | null = null;
  private tearing: Promise<void> | null = null;

  private constructor(readonly tag: string, readonly topology: Topology) {
    this.namespaces = topology.nodes.map((n) => `gb-${tag}-${n}`);
  }

  namespaceOf(node: string): string {
    return this.namespaces[this.topology.nodeIndex(node)];
  }

  addressOf(node: string): string {
    return nodeAddress(this.topology.nodeIndex(node));
  }

  /** The running emulator (for live changes and counters). */
  get linkem(): LinkEmulator {
    return this.emulator!;
  }

  /** Build and start; on failure everything made so far is removed. */
  static async build(topology: Topology, shapes: NativeLinkShape[], options: { seed?: number; tag?: string; queueing?: Queueing; routes?: RouteScope; tcp?: NamespaceTcp } = {}): Promise<NativeNetwork> {
    const net = new NativeNetwork(options.tag ?? newRunTag(), topology);
    net.unregister = onTeardown(() => net.teardown());
    net.releaseTag = claimTag(net.tag);
    try {
      await net.create(shapes, options.seed ?? 1, options.queueing ?? 'fair', options.routes ?? 'all', options.tcp ?? DEFAULT_NAMESPACE_TCP);
    } catch (e) {
      await net.teardown();
      throw e;
    }
    return net;
  }

  private async create(shapes: NativeLinkShape[], seed: number, queueing: Queueing, routes: RouteScope, tcp: NamespaceTcp): Promise<void> {
    const { topology } = this;
    for (const ns of this.namespaces) {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...tcpSysctls(tcp)]);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const em = (this.emulator = new LinkEmulator());
    await em.command(`seed ${seed}`);
    for (let i = 0; i < topology.nodes.length; i++) {
      await em.command(`node ${i} ${this.namespaces[i]} ${TUN_NAME} ${nodeAddress(i)}`);
      // The node's address on its loopback-like TUN, and every other node through it.
      await batch('ip', this.namespaces[i], [
        `addr add ${nodeAddress(i)}/32 dev ${TUN_NAME}`,
        `link set ${TUN_NAME} up`,
        `route add 198.19.0.0/16 dev ${TUN_NAME} src ${nodeAddress(i)} congctl ${tcp.congestion}`,
      ]);
    }
    for (const link of topology.links) {
      const shape = shapes[link.id];
      await em.command(`link ${link.id} ${link.from} ${link.to}`);
      await em.command(`set ${link.id} queueing ${queueing}`);
      await em.command(shape.mahimahi ? `set ${link.id} trace ${shape.mahimahi}` : `set ${link.id} rate ${Math.round(shape.mbps * 1e6)}`);
      await em.command(`set ${link.id} delay ${Math.round(shape.delayS * 1e6)}`);
      await em.command(`set ${link.id} jitter ${Math.round((shape.jitterS ?? 0) * 1e6)}`);
      await em.command(`set ${link.id} reorder ${shape.reorder ? 1 : 0}`);
      await em.command(`set ${link.id} loss ${shape.lossPercent / 100}`);
      await em.command(`set ${link.id} queue ${queueLimit(shape)} packets`);
    }
    for (let v = 0; v < topology.nodes.length; v++) {
      for (let d = 0; d < topology.nodes.length; d++) {
        // (routes 'neighbours': the relay underlay; a packet for anyone else has no route and is dropped)
        const first = d === v ? -1 : routes === 'all' ? topology.nextHopsTowards(d)[v] : topology.linkBetween(v, d) ?? -1;
        if (first >= 0) await em.command(`route ${v} ${nodeAddress(d)} ${first}`);
      }
    }
    await em.command('start');
  }

  /**
   * Restart every Mahimahi trace and count log times from the run's epoch
   * (the emulator started them when the network was built, some hundred ms
   * earlier). The emulator keeps CLOCK_MONOTONIC time, as WallClock does.
   */
  atEpoch(epochMs: number): void {
    this.emulator?.send(`zero ${BigInt(Math.round(epochMs * 1e6))}`);
  }

  /**
   * From now on, log every packet of each link, in Mahimahi's format, to
   * `fileOf(link id)`, with times counted from now (call it at the run's
   * epoch). A file it cannot write shows in errors().
   */
  startPacketLogs(fileOf: (linkId: number) => string): void {
    for (const link of this.topology.links) this.emulator?.send(`log ${link.id} ${fileOf(link.id)}`);
  }

  /** The emulator writes each link's departures as pcap itself (native/pcap.c); the files are complete when it exits at teardown. */
  async startCaptures(fileOf: (linkId: number) => string): Promise<void> {
    for (const link of this.topology.links) await this.linkem.command(`pcap ${link.id} ${fileOf(link.id)}`);
  }

  /**
   * The emulator's counters, printed every interval, in Ethernet frame bytes as
   * the kernel backend's and the simulator's: it counts IP packets, so add each
   * packet's 14-byte header (a link's rate is charged the same way). Each
   * reading is stamped by the emulator, as of an instant on its clock (whole
   * intervals from the epoch atEpoch gave it: the run's clock).
   */
  counters(): LinkCounters {
    const em = this.linkem;
    return {
      start: (intervalMs: number, onReading: (r: LinkCounterReading) => void) => {
        em.onStats((c) => onReading({
          link: c.link, atS: c.atMs / 1000, sentBytes: c.outBytes + ETHERNET_HEADER_BYTES * c.outPackets, dropped: c.queueDrops + c.lossDrops,
          backlogBytes: c.queuedBytes + ETHERNET_HEADER_BYTES * c.queuedPackets,
        }));
        em.send(`stats ${intervalMs}`);
      },
      stop: async () => em.send('stats 0'),
    };
  }

  /** Change a directed link's rate now. */
  setRate(linkId: number, mbps: number): void {
    this.emulator?.send(`set ${linkId} rate ${Math.round(mbps * 1e6)}`);
  }

  /** Change a directed link's delay now (the emulator keeps packets in order). */
  setDelay(linkId: number, delayS: number): void {
    this.emulator?.send(`set ${linkId} delay ${Math.round(delayS * 1e6)}`);
  }

  setLoss(linkId: number, percent: number): void {
    this.emulator?.send(`set ${linkId} loss ${percent / 100}`);
  }

  emulatorPid(): number | null {
    return this.emulator?.pid ?? null;
  }

  /** Commands the emulator refused while running. */
  errors(): string[] {
    return this.emulator?.refused() ?? [];
  }

  /** Stop the emulator (its TUN devices go with it), then remove the namespaces. */
  teardown(): Promise<void> {
    this.tearing ??= this.removeAll();
    return this.tearing;
  }

  private async removeAll(): Promise<void> {
    this.unregister?.();
    await this.emulator?.stop().catch(() => undefined);
    for (const ns of this.namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    this.releaseTag?.();
  }
}
