/**
 * The link backends and the rules for choosing one: the only place that
 * tells the kernel backend (htb, + netem where the kernel has it;
 * src/net/kernel) from the native one (geobed's packet-level link emulator;
 * src/net/native). Everything else holds an EmulatedLinks.
 */
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Scenario } from '../scenario/types.js';
import type { Topology } from '../net/topology.js';
import type { EmulatedLinks } from '../net/emu/links.js';
import { probeQdiscs, tunUsable, version, type Qdiscs } from '../net/emu/probe.js';
import { succeeds } from '../net/emu/exec.js';
import { KernelNetwork } from '../net/kernel/network.js';
import { NativeNetwork } from '../net/native/network.js';
import { LINKEM_BINARY, LinkEmulator } from '../net/native/linkem.js';
import { UserError } from '../util/errors.js';
import { checkCongestion, namespaceTcp } from './host-tcp.js';
import { linksDownForEver } from './watchdog.js';
import type { Trace } from '../model/trace.js';
import { convertMahimahi } from '../scenario/traces/mahimahi.js';
import { traceFromTable } from '../scenario/traces/piecewise.js';
import { readText } from '../util/files.js';

/** What carries the emulated links: htb (+ netem) in the kernel, or geobed's native link emulator. */
export const LINK_BACKENDS = ['kernel', 'native'] as const;
export type LinkBackend = (typeof LINK_BACKENDS)[number];

/**
 * Stop before creating anything if this host cannot emulate the scenario,
 * and say which link backend will carry it: root and ip always; tc for the
 * kernel backend, with netem if a link has delay, jitter or loss; the built
 * native emulator for the native one. Unless `requested` says otherwise,
 * native is chosen when the scenario asks for what only it does exactly
 * (Mahimahi traces opportunity by opportunity, jitter without reordering,
 * per-packet logs) or for delay or loss on a kernel without netem.
 */
/**
 * Every node is an agent process (a data center's node, and each worker's
 * where data centers hold several): about 60 MB each with a synthetic
 * workload (55 MB measured on this project's machines), and up to 600 MB
 * for a worker that trains (test/emu/train.test.ts: nine CNN workers stay
 * under it). A run that would not fit in the host's available memory is
 * refused before anything is built.
 */
const AGENT_MB = 60;
const TRAINING_WORKER_MB = 600;

function checkMemory(scenario: Scenario): void {
  const workers = scenario.workload.training ? scenario.workers.length : 0;
  const needMb = (scenario.nodes.length - workers) * AGENT_MB + workers * TRAINING_WORKER_MB;
  const availableMb = availableMemoryMb();
  if (availableMb !== null && needMb > availableMb) {
    const most = scenario.workload.training ? `${TRAINING_WORKER_MB} MB a training worker, ${AGENT_MB} MB any other node` : `${AGENT_MB} MB a node`;
    throw new UserError(`--mode emu: ${scenario.nodes.length} nodes (${scenario.dataCenters.length} data centers and ${scenario.workers.length} workers) need about ` +
      `${(needMb / 1000).toFixed(1)} GB for their agent processes (${most}) and this host has ${(availableMb / 1000).toFixed(1)} GB available; ` +
      'use fewer workers per data center, or simulate it (--mode sim)');
  }
}

/** MemAvailable from /proc/meminfo, in MB (null where there is none). */
function availableMemoryMb(): number | null {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export async function chooseLinkBackend(scenario: Scenario, requested?: LinkBackend): Promise<LinkBackend> {
  if (process.getuid?.() !== 0) throw new UserError('--mode emu needs root (it creates network namespaces); try sudo, or --mode sim');
  // a link at 0 for ever would hold the run until the stall timeout (the simulator stops as soon as a message waits on it)
  const down = linksDownForEver(scenario);
  if (down.length) {
    throw new UserError(
      `${scenario.file}: ${down.map((d) => `${d.link} is at 0 Mbit/s for ever from t=${d.fromS} s`).join(', ')}: an emulated run would wait on ` +
      `${down.length > 1 ? 'them' : 'it'} until the stall timeout; give ${down.length > 1 ? 'each' : 'it'} a rate after the outage, or loop its trace`,
    );
  }
  const missing = [];
  for (const tool of requested === 'native' ? ['ip'] : ['ip', 'tc']) if (!(await succeeds(tool, ['-V']))) missing.push(tool);
  if (missing.length) throw new UserError(`--mode emu needs ${missing.join(' and ')} (Debian: apt-get install iproute2)`);
  // addresses: a /30 per undirected link in 198.18.0.0/16, a /32 per node in 198.19.0.0/16
  const undirected = new Set(scenario.links.map((l) => [l.from, l.to].sort().join(' '))).size;
  if (undirected > 16_384 || scenario.nodes.length > 65_536) {
    throw new UserError(`--mode emu: ${scenario.nodes.length} nodes and ${undirected} links do not fit the emulated address space (at most 65,536 nodes and 16,384 links); simulate it (--mode sim)`);
  }
  checkMemory(scenario);
  checkCongestion(scenario.network.tcp.congestion);
  const needsNetem = scenario.links.filter((l) => l.delayS > 0 || l.lossPercent > 0 || l.jitterS > 0 || l.delayOverTime || l.lossOverTime);
  const nativeOnly = [
    ...scenario.links.filter((l) => l.jitterS > 0 && !l.reorder).map((l) => `${l.name} has jitter without reordering (netem reorders)`),
    ...(scenario.results.packet_log ? ['results.packet_log asks for per-packet logs'] : []),
  ];
  const mahimahi = scenario.links.filter((l) => l.mahimahi !== null);
  const netem = needsNetem.length > 0 && requested !== 'native' ? (await probeQdiscs()).qdiscs.netem : false;
  const backend = requested ?? (nativeOnly.length > 0 || mahimahi.length > 0 || (needsNetem.length > 0 && !netem) ? 'native' : 'kernel');
  if (backend === 'native' && !LinkEmulator.available()) {
    const why = nativeOnly[0] ?? (mahimahi.length > 0 ? `${mahimahi[0].name} replays a Mahimahi trace` : needsNetem.length > 0 ? `${needsNetem[0].name} asks for delay or loss, which this kernel cannot do without netem` : '');
    throw new UserError(
      `--links native: the native link emulator is not built (${LINKEM_BINARY})${why && !requested ? `, and ${why}` : ''}; ` +
      'install a C compiler (Debian: apt-get install gcc) and run npm run build',
    );
  }
  if (backend === 'kernel' && nativeOnly.length > 0) {
    throw new UserError(`--links kernel: ${nativeOnly[0]}; only the native link emulator does that (--links native)`);
  }
  if (backend === 'kernel' && needsNetem.length > 0 && !netem) {
    throw new UserError(
      `--links kernel: ${needsNetem.map((l) => l.name).slice(0, 4).join(', ')}${needsNetem.length > 4 ? ', ...' : ''} ask for delay, jitter or loss, which needs netem ` +
      '(missing from this kernel); use geobed\'s native link emulator (--links native)',
    );
  }
  if (backend === 'kernel' && scenario.results.pcap && !(await succeeds('tcpdump', ['--version']))) {
    throw new UserError('results.pcap on kernel links captures with tcpdump, which is not installed (Debian: apt-get install tcpdump); or use --links native');
  }
  return backend;
}

/** How the links are carried, for the manifest. */
export function describeLinks(backend: LinkBackend, scenario: Scenario): string {
  return backend === 'native'
    ? 'emulated: a network namespace per node, links carried by geobed\'s native link emulator (TUN), real TCP, wall-clock time'
    : `emulated: a network namespace per node, veth links shaped by htb (${scenario.network.queueing} queueing), real TCP, wall-clock time`;
}

/**
 * What each directed link is allowed, as its backend carries it, for the
 * fidelity check: the trace the runner replays, except a Mahimahi trace the
 * native emulator replays itself, which allows its opportunities to the
 * millisecond (not the scenario's bin_ms averages the simulator and kernel
 * links follow).
 */
export function allowances(scenario: Scenario, net: EmulatedLinks): Trace[] {
  return scenario.links.map((l) => {
    if (!(l.mahimahi && net.replaysMahimahi)) return l.trace;
    try {
      const table = convertMahimahi(readText(l.mahimahi, 'Mahimahi trace'), l.mahimahi, 1);
      return traceFromTable(table, true, table.periodS);
    } catch (e) {
      if (e instanceof UserError) return l.trace; // (a trace too long for 1 ms rows: its bin_ms averages)
      throw e;
    }
  });
}

/** Build the scenario's network on the chosen backend, every link at its trace's first rate. */
export async function buildLinks(backend: LinkBackend, scenario: Scenario, topology: Topology): Promise<EmulatedLinks> {
  const shapes = scenario.links.map((l) => ({
    mbps: l.trace.rateAt(0), delayS: l.delayS, maxDelayS: l.maxDelayS, jitterS: l.jitterS, reorder: l.reorder,
    lossPercent: l.lossPercent, queuePackets: l.queuePackets, mahimahi: l.mahimahi, varies: !!(l.delayOverTime || l.lossOverTime),
  }));
  const routes = scenario.network.underlay === 'relay' ? 'neighbours' : 'all';
  const tcp = namespaceTcp(scenario, topology);
  return backend === 'native'
    ? NativeNetwork.build(topology, shapes, { seed: scenario.seed, queueing: scenario.network.queueing, routes, tcp })
    : KernelNetwork.build(topology, shapes, { queueing: scenario.network.queueing, routes, tcp });
}

export interface HostReport {
  root: boolean;
  /** `ip -V` output, or null when ip is missing. */
  iproute2: string | null;
  tc: boolean;
  namespaces: boolean;
  qdiscs: Qdiscs;
  tun: boolean;
  cpus: number;
  modes: { sim: string; emuRateOnly: string; emuDelayLoss: string };
}

export async function probeHost(): Promise<HostReport> {
  const root = process.getuid?.() === 0;
  const iproute2 = await version('ip', '-V');
  const tc = (await version('tc', '-V')) !== null;
  const probed = root && iproute2 && tc ? await probeQdiscs() : { namespaces: false, qdiscs: { htb: false, tbf: false, netem: false, mirred: false } };
  const tun = tunUsable();
  const missing: string[] = [];
  if (!root) missing.push('root');
  if (!iproute2) missing.push('ip (iproute2)');
  if (!tc) missing.push('tc (iproute2)');
  if (root && iproute2 && !probed.namespaces) missing.push('network namespaces');
  if (root && iproute2 && tc && probed.namespaces) {
    // kernel links: htb for the rate, tbf for outages, the mirred action to restart a link after one
    for (const [what, has] of [['the htb qdisc', probed.qdiscs.htb], ['the tbf qdisc', probed.qdiscs.tbf], ['the mirred filter action (act_mirred)', probed.qdiscs.mirred]] as const) {
      if (!has) missing.push(what);
    }
  }
  const emuRateOnly = missing.length ? `no: needs ${missing.join(', ')}` : 'yes (htb, tbf)';
  const native = LinkEmulator.available() && tun;
  const emuDelayLoss = missing.length
    ? `no: needs ${missing.join(', ')}`
    : probed.qdiscs.netem
      ? `yes (htb + netem${native ? '; or --links native' : ''})`
      : native
        ? 'yes (the native link emulator; the kernel has no netem)'
        : `no: the kernel has no netem, and the native link emulator ${tun ? 'is not built (needs a C compiler, then npm run build)' : 'needs /dev/net/tun'}`;
  return {
    root, iproute2, tc, namespaces: probed.namespaces, qdiscs: probed.qdiscs, tun, cpus: cpus().length,
    modes: { sim: 'yes', emuRateOnly, emuDelayLoss },
  };
}
