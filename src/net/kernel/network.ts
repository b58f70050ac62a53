/**
 * The emulated WAN: one network namespace per node, a veth pair per link,
 * addresses from 198.18.0.0/15, forwarding and static routes so that
 * non-neighbours reach each other over the same underlay routes the
 * simulator uses, and htb on each veth end shaping that direction's rate.
 *
 * Names: namespace gb-<tag>-<node>; in node v's namespace the interface
 * towards neighbour w is n<index of w>. Addresses: undirected link k is the
 * /30 198.18.0.0 + 4k (.1 on the lower-indexed node, .2 on the other); node
 * i answers on 198.19.(i >> 8).(i & 255)/32 on its loopback.
 *
 * A rate of 0 shuts the link's outage gate; the next rate above 0 reopens
 * it and nudges the link (shaping.ts says why both are needed).
 */
import { execa, type ResultPromise } from 'execa';
import type { Topology } from '../topology.js';
import { batch, run, OWN_GROUP } from '../emu/exec.js';
import { ipv4, LINK_BASE, newRunTag, nodeAddress } from '../emu/addresses.js';
import { onTeardown } from '../../util/teardown.js';
import { claimTag } from '../emu/owners.js';
import { CommandBatch } from '../emu/batch.js';
import { gateCommand, gsoSegments, linkShapingCommands, netemChangeCommands, rateChangeCommand, type Pair } from './shaping.js';
import { Kicker } from './kick.js';
import { DEFAULT_NAMESPACE_TCP, tcpSysctls, type EmulatedLinks, type LinkCounters, type LinkShape, type NamespaceTcp, type Queueing, type RouteScope } from '../emu/links.js';
import { TcCounters } from './counters.js';

export interface KernelLink {
  /** Directed link id (as in the topology). */
  id: number;
  namespace: string;
  device: string;
}

/** The interface holding a node's address in its namespace (EmulatedLinks.nodeInterface). */
export const NODE_INTERFACE = 'gbn';

export class KernelNetwork implements EmulatedLinks {
  readonly replaysMahimahi = false;
  readonly nodeInterface = NODE_INTERFACE;
  readonly namespaces: string[];
  readonly links: KernelLink[];
  private readonly batches = new Map<string, CommandBatch>();
  private readonly kickers = new Map<string, Kicker>();
  /** Each directed link's far-end (link) address, and whether its outage gate is shut. */
  private readonly peers: string[] = [];
  private readonly shut: boolean[] = [];
  /** Segments per packet currently set on each directed link's sending veth. */
  private readonly segments: number[] = [];
  /** Each directed link's shape as last set, and the (source, destination) pairs routed across it. */
  private shapes: LinkShape[] = [];
  private crossing: Pair[][] = [];
  private unregister: (() => void) | null = null;
  /** tcpdump processes (results.pcap). */
  private readonly captures: ResultPromise[] = [];
  private releaseTag: (() => void) | null = null;
  private tearing: Promise<void> | null = null;

  private constructor(
    readonly tag: string, readonly topology: Topology, private readonly queueing: Queueing, private readonly routes: RouteScope,
    private readonly tcp: NamespaceTcp,
  ) {
    this.namespaces = topology.nodes.map((n) => `gb-${tag}-${n}`);
    this.links = topology.links.map((l) => ({ id: l.id, namespace: this.namespaces[l.from], device: `n${l.to}` }));
  }

  /** htb's own counters on each link's sending veth (Ethernet frames). */
  counters(): LinkCounters {
    return new TcCounters(this.links);
  }

  namespaceOf(node: string): string {
    return this.namespaces[this.topology.nodeIndex(node)];
  }

  addressOf(node: string): string {
    return nodeAddress(this.topology.nodeIndex(node));
  }

  /**
   * Build the namespaces, links, routes and shaping (one shape per directed
   * link, its initial rate in Mbit/s; a bare number is a rate-only link).
   * On failure everything made so far is removed.
   */
  static async build(topology: Topology, shapes: (LinkShape | number)[], options: { queueing?: Queueing; tag?: string; routes?: RouteScope; tcp?: NamespaceTcp } = {}): Promise<KernelNetwork> {
    const net = new KernelNetwork(options.tag ?? newRunTag(), topology, options.queueing ?? 'fair', options.routes ?? 'all', options.tcp ?? DEFAULT_NAMESPACE_TCP);
    net.unregister = onTeardown(() => net.teardown());
    net.releaseTag = claimTag(net.tag);
    try {
      const full = shapes.map((s) => (typeof s === 'number' ? { mbps: s, delayS: 0, lossPercent: 0, queuePackets: null } : s));
      await net.create(full, net.queueing);
    } catch (e) {
      await net.teardown();
      throw e;
    }
    return net;
  }

  private async create(shapes: LinkShape[], queueing: Queueing): Promise<void> {
    this.shapes = shapes.map((shape) => ({ ...shape }));
    await this.createNamespaces();
    await this.createLinks(shapes);
    await this.shapeLinks(shapes, queueing);
    // The live-change batches, started now: spawning one at the first change
    // would hold that change (and those due with it) up by ~10 ms.
    for (const ns of new Set(this.links.map((l) => l.namespace))) {
      this.batch('tc', ns);
      this.batch('ip', ns);
    }
    shapes.forEach((shape, id) => {
      this.shut[id] = !(shape.mbps > 0);
      if (this.shut[id]) this.kicker(this.links[id].namespace);
    });
    await this.addRoutes();
  }

  private async createNamespaces(): Promise<void> {
    for (let i = 0; i < this.topology.nodes.length; i++) {
      const ns = this.namespaces[i];
      await run('ip', ['netns', 'add', ns]);
      // (routes 'neighbours': the relay underlay, no forwarding; the agents relay)
      const forward = this.routes === 'all' ? 1 : 0;
      await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.ip_forward=${forward}`, 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0',
        ...tcpSysctls(this.tcp)]);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // The node's address on an interface of its own, not on lo (programs that look for their address skip loopback
      // ones); the kernel has no dummy links, so a veth pair whose both ends stay inside, the peer unused.
      await run('ip', ['-n', ns, 'link', 'add', NODE_INTERFACE, 'type', 'veth', 'peer', 'name', `${NODE_INTERFACE}-peer`]);
      await run('ip', ['-n', ns, 'link', 'set', `${NODE_INTERFACE}-peer`, 'up']);
      await run('ip', ['-n', ns, 'link', 'set', NODE_INTERFACE, 'up']);
      await run('ip', ['-n', ns, 'addr', 'add', `${nodeAddress(i)}/32`, 'dev', NODE_INTERFACE]);
    }
  }

  /** One veth pair per undirected link (each directed link's far-end address into `peers`). */
  private async createLinks(shapes: LinkShape[]): Promise<void> {
    const { topology } = this;
    const pairs = new Map<string, number>();
    for (const link of topology.links) {
      const a = Math.min(link.from, link.to), b = Math.max(link.from, link.to);
      const key = `${a},${b}`;
      if (pairs.has(key)) continue;
      const k = pairs.size;
      pairs.set(key, k);
      const [nsA, nsB] = [this.namespaces[a], this.namespaces[b]];
      const [addrA, addrB] = [ipv4(LINK_BASE + 4 * k + 1), ipv4(LINK_BASE + 4 * k + 2)];
      await run('ip', ['-n', nsA, 'link', 'add', `n${b}`, 'type', 'veth', 'peer', 'name', `n${a}`, 'netns', nsB]);
      await run('ip', ['-n', nsA, 'addr', 'add', `${addrA}/30`, 'dev', `n${b}`]);
      await run('ip', ['-n', nsB, 'addr', 'add', `${addrB}/30`, 'dev', `n${a}`]);
      // Packets no longer than 0.5 ms at the direction's rate (see gsoSegments).
      const ab = topology.linkBetween(a, b), ba = topology.linkBetween(b, a);
      const segmentsAB = gsoSegments(ab === undefined ? 0 : shapes[ab].mbps);
      const segmentsBA = gsoSegments(ba === undefined ? 0 : shapes[ba].mbps);
      if (ab !== undefined) this.segments[ab] = segmentsAB;
      if (ba !== undefined) this.segments[ba] = segmentsBA;
      await run('ip', ['-n', nsA, 'link', 'set', `n${b}`, 'gso_max_segs', String(segmentsAB), 'up']);
      await run('ip', ['-n', nsB, 'link', 'set', `n${a}`, 'gso_max_segs', String(segmentsBA), 'up']);
      if (ab !== undefined) this.peers[ab] = addrB;
      if (ba !== undefined) this.peers[ba] = addrA;
    }
  }

  /** htb on the sending end of every directed link, one class per (source, destination) pair routed across it (see shaping.ts). */
  private async shapeLinks(shapes: LinkShape[], queueing: Queueing): Promise<void> {
    const { topology } = this;
    const crossing: Pair[][] = (this.crossing = topology.links.map(() => []));
    for (let src = 0; src < topology.nodes.length; src++) {
      for (let dst = 0; dst < topology.nodes.length; dst++) {
        if (src === dst || topology.nextHopsTowards(dst)[src] < 0) continue;
        for (const id of topology.route(src, dst)) crossing[id].push({ src: nodeAddress(src), dst: nodeAddress(dst) });
      }
    }
    for (let v = 0; v < topology.nodes.length; v++) {
      const lines = this.links.filter((l) => topology.links[l.id].from === v)
        .flatMap((l) => linkShapingCommands(l.device, shapes[l.id], this.peers[l.id], crossing[l.id], queueing));
      if (lines.length) await batch('tc', this.namespaces[v], lines);
    }
  }

  /** Towards every other node, the simulator's next hop. */
  private async addRoutes(): Promise<void> {
    const { topology } = this;
    for (let v = 0; v < topology.nodes.length; v++) {
      const lines: string[] = [];
      for (let d = 0; d < topology.nodes.length; d++) {
        if (d === v) continue;
        const first = this.routes === 'all' ? topology.nextHopsTowards(d)[v] : topology.linkBetween(v, d) ?? -1;
        if (first < 0) continue;
        const next = topology.links[first].to;
        // Source: this node's own address, which every other node has a route to.
        lines.push(`route add ${nodeAddress(d)}/32 via ${this.peers[first]} dev n${next} src ${nodeAddress(v)} congctl ${this.tcp.congestion}`);
      }
      if (lines.length) await batch('ip', this.namespaces[v], lines);
    }
  }

  /** The kernel keeps no time of its own: the trace player changes its rates on the run's clock. */
  atEpoch(): void {}

  /**
   * Change a directed link's rate in place, and its packet size with it,
   * through the namespace's long-lived tc and ip batches. At 0 the link's
   * gate shuts (htb keeps its last rate); the first rate above 0 after it
   * goes to htb, then the gate opens and, once tc has done both, the link is
   * nudged.
   */
  setRate(linkId: number, mbps: number): void {
    const link = this.links[linkId];
    const tc = this.batch('tc', link.namespace);
    if (!(mbps > 0)) {
      if (!this.shut[linkId]) tc.write(gateCommand(link.device, false));
      this.shut[linkId] = true;
      this.kicker(link.namespace); // (started now, ready when the link reopens)
      return;
    }
    tc.write(rateChangeCommand(link.device, mbps));
    const segments = gsoSegments(mbps);
    if (segments !== this.segments[linkId]) {
      this.segments[linkId] = segments;
      this.batch('ip', link.namespace).write(`link set dev ${link.device} gso_max_segs ${segments}`);
    }
    if (this.shut[linkId]) {
      this.shut[linkId] = false;
      tc.write(gateCommand(link.device, true));
      const kicker = this.kicker(link.namespace);
      void tc.applied().then(() => kicker.kick(this.peers[linkId]));
    }
  }

  /** The kernel moves the packets (in softirq time, which the host's CPU check sees). */
  emulatorPid(): null {
    return null;
  }

  /** Change a link's delay (netem leaves; the link was built with them when its delay varies). */
  setDelay(linkId: number, delayS: number): void {
    this.changeNetem(linkId, { delayS });
  }

  setLoss(linkId: number, percent: number): void {
    this.changeNetem(linkId, { lossPercent: percent });
  }

  private changeNetem(linkId: number, change: Partial<LinkShape>): void {
    const link = this.links[linkId];
    const shape = (this.shapes[linkId] = { ...this.shapes[linkId], ...change });
    const tc = this.batch('tc', link.namespace);
    for (const line of netemChangeCommands(link.device, shape, this.crossing[linkId], this.queueing)) tc.write(line);
  }

  /** The namespace's nudger, started the first time one of its links shuts (a scenario without outages starts none). */
  private kicker(namespace: string): Kicker {
    let kicker = this.kickers.get(namespace);
    if (!kicker) this.kickers.set(namespace, (kicker = new Kicker(namespace)));
    return kicker;
  }

  private batch(tool: 'tc' | 'ip', namespace: string): CommandBatch {
    const key = `${tool} ${namespace}`;
    let batch = this.batches.get(key);
    if (!batch) this.batches.set(key, (batch = new CommandBatch(tool, namespace)));
    return batch;
  }

  /** Errors reported by the tc and ip batch processes. */
  errors(): string[] {
    return [...this.batches.values()].flatMap((b) => b.errors());
  }

  /**
   * Remove everything: tc processes, then the namespaces (which takes their
   * veths with them). Every caller gets the same promise, so a second caller
   * (a signal handler and a finally block, say) waits for the first to finish.
   */
  teardown(): Promise<void> {
    this.tearing ??= this.removeAll();
    return this.tearing;
  }

  /**
   * tcpdump on each directed link's sending veth, outgoing packets only
   * (a tap on egress sees them as they leave the qdisc), 128 bytes of each;
   * resolves once every one listens. Stopped (SIGINT: the file is finished)
   * at teardown.
   */
  async startCaptures(fileOf: (linkId: number) => string): Promise<void> {
    await Promise.all(this.links.map(async (link) => {
      // --immediate-mode: packets reach tcpdump as they come, not in blocks every second (the last second's block
      // would be lost when it is stopped: 6.4% of one link's bytes in a 10 s run)
      const dump = execa('ip', ['netns', 'exec', link.namespace, 'tcpdump', '-i', link.device, '-Q', 'out', '-s', '128', '-n', '--immediate-mode', '-w', fileOf(link.id)], { reject: false, ...OWN_GROUP });
      this.captures.push(dump);
      await new Promise<void>((resolve, reject) => {
        let said = '';
        dump.stderr!.on('data', (d: Buffer) => {
          said += String(d);
          if (/listening on/.test(said)) resolve();
        });
        void dump.then((r) => reject(new Error(`tcpdump on ${link.namespace} ${link.device} exited: ${String(r.stderr || r.shortMessage).trim()}`)));
      });
    }));
  }

  private async removeAll(): Promise<void> {
    this.unregister?.();
    for (const dump of this.captures) dump.kill('SIGINT');
    for (const dump of this.captures) {
      const killer = setTimeout(() => dump.kill('SIGKILL'), 2000);
      await dump;
      clearTimeout(killer);
    }
    for (const batch of this.batches.values()) await batch.close().catch(() => undefined);
    for (const kicker of this.kickers.values()) await kicker.close().catch(() => undefined);
    for (const ns of this.namespaces) await execa('ip', ['netns', 'del', ns], { reject: false, ...OWN_GROUP });
    this.releaseTag?.();
  }
}
