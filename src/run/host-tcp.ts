/**
 * The TCP of every emulated host (scenario `network.tcp`). A namespace
 * inherits its host's socket-buffer limits (here tcp_wmem max 4 MB), which
 * cap a connection's window: 500 Mbit/s over 40 ms each way needs 5 MB in
 * flight and carried 309 Mbit/s with 4 MB, 483 with 16 MB. Real WAN hosts
 * are tuned for their paths, so by default every namespace gets buffers of
 * 4 x the scenario's largest bandwidth-delay product (Linux keeps about half
 * of a buffer for its own bookkeeping, and the window must also cover the
 * queue the path builds), at least the host's 4 MB.
 */
import { readFileSync } from 'node:fs';
import type { Scenario } from '../scenario/types.js';
import type { Topology } from '../net/topology.js';
import type { NamespaceTcp } from '../net/emu/links.js';
import { traceStats } from '../scenario/traces/stats.js';
import { UserError } from '../util/errors.js';
import { INITIAL_WINDOW_BYTES, type TcpSharing } from '../net/sim/tcp-sharing.js';

const MIB = 1024 * 1024;
const MIN_BUFFER = 4 * MIB;
/** How far into a trace its peak rate is looked for. */
const PEAK_HORIZON_S = 600;

/** The largest rate (bit/s) times the largest round trip (s) any connection of the scenario can see, in bytes. */
export function largestBdpBytes(scenario: Scenario, topology: Topology): number {
  const peakMbps = Math.max(...scenario.links.map((l) => traceStats(l.trace, PEAK_HORIZON_S).max));
  const oneWay = (route: number[]) => route.reduce((s, id) => s + scenario.links[id].maxDelayS + scenario.links[id].jitterS, 0);
  let rtt = 0;
  if (scenario.network.underlay === 'relay') {
    // every connection is between neighbours
    for (const l of topology.links) {
      const back = topology.linkBetween(l.to, l.from);
      rtt = Math.max(rtt, oneWay([l.id]) + (back === undefined ? 0 : oneWay([back])));
    }
  } else {
    for (let a = 0; a < topology.nodes.length; a++) {
      for (let b = a + 1; b < topology.nodes.length; b++) rtt = Math.max(rtt, oneWay(topology.route(a, b)) + oneWay(topology.route(b, a)));
    }
  }
  return (peakMbps * 1e6 / 8) * rtt;
}

/** What each namespace gets, from the scenario's network.tcp. */
export function namespaceTcp(scenario: Scenario, topology: Topology): NamespaceTcp & { largestBdpBytes: number } {
  const { congestion, buffers, slow_start_after_idle } = scenario.network.tcp;
  const bdp = largestBdpBytes(scenario, topology);
  const bufferBytes = buffers === 'host' ? null
    : buffers === 'auto' ? Math.max(MIN_BUFFER, Math.ceil((4 * bdp) / MIB) * MIB)
      : Math.round(buffers * MIB);
  return { congestion, bufferBytes, slowStartAfterIdle: slow_start_after_idle, largestBdpBytes: Math.round(bdp) };
}

/** Stop before building anything if this kernel has no such congestion control. */
export function checkCongestion(name: string): void {
  let available: string[];
  try {
    available = readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);
  } catch {
    return; // (no /proc: the route command will say)
  }
  if (!available.includes(name)) {
    throw new UserError(`network.tcp.congestion: this kernel has no "${name}" (it has ${available.join(', ')}); load it (modprobe tcp_${name}) or choose one of those`);
  }
}

/**
 * Linux's default socket-buffer limits (tcp_rmem and tcp_wmem max): what the
 * simulator takes for `buffers: host`, so a simulated run does not depend on
 * the machine it runs on.
 */
const LINUX_RMEM_MAX = 6 * MIB;
const LINUX_WMEM_MAX = 4 * MIB;

/**
 * The TCP model's constants per congestion control (share weight RTT^-a,
 * bandwidth factor f), calibrated against emulated runs with
 * `npm run bench:tcp-model` (docs/simulator.md). CUBIC grows its window
 * with time, not per RTT, and is RTT-fair by design; BBR paces at its
 * estimate of the path's rate: both share as a = 0 here, and BBR leaves
 * about 4% of a link unused (its pacing cycles below the rate it
 * measured, f = 0.96). Any other
 * congestion control takes loss-based TCP's textbook a = 1.
 */
export const TCP_CALIBRATION: Record<string, { rttExponent: number; bandwidthFactor: number }> = {
  cubic: { rttExponent: 0, bandwidthFactor: 1 },
  bbr: { rttExponent: 0, bandwidthFactor: 0.96 },
};
const UNCALIBRATED = { rttExponent: 1, bandwidthFactor: 1 };

/** The simulator's TCP-aware sharing model for this scenario (network.sharing: tcp), or null for pure max-min. */
export function simulatedTcp(scenario: Scenario, topology: Topology): TcpSharing | null {
  if (scenario.network.sharing !== 'tcp') return null;
  const { bufferBytes } = namespaceTcp(scenario, topology);
  const rmem = bufferBytes ?? LINUX_RMEM_MAX;
  const wmem = bufferBytes ?? LINUX_WMEM_MAX;
  return {
    ...(TCP_CALIBRATION[scenario.network.tcp.congestion] ?? UNCALIBRATED),
    // the receive window is half the receive buffer (tcp_adv_win_scale = 1); the send buffer holds what is in flight
    windowBytes: Math.min(wmem, rmem / 2),
    initialWindowBytes: INITIAL_WINDOW_BYTES,
    slowStartAfterIdle: scenario.network.tcp.slow_start_after_idle,
  };
}
