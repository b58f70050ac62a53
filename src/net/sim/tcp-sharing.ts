/**
 * The simulator's TCP-aware sharing model (`network.sharing: tcp`), for when
 * pure max-min is too ideal: three things real TCP does that max-min does
 * not.
 *
 * 0. TCP does not fill a link: each link's rate counts x bandwidthFactor
 *    (SimGrid's LV08 calibration has 0.97).
 * 1. RTT unfairness. Connections sharing a bottleneck get shares in
 *    proportion to a weight RTT^-a (a = rttExponent): a = 1 is the classic
 *    result for Reno/CUBIC-style loss-based TCP (throughput ~ 1/RTT), and
 *    SimGrid's LV08 model shares by the same kind of latency penalty
 *    (src/kernel/resource/models/network_cm02.cpp: a flow's sharing penalty
 *    grows with its route's latency). Shares are weighted max-min fair:
 *    progressive filling raises every unfrozen flow's rate as weight x level.
 * 2. The window. A connection never has more than its window in flight, so
 *    its rate is at most window / RTT; the window is what the emulated hosts'
 *    socket buffers allow (network.tcp.buffers, as emulated mode sets
 *    tcp_rmem/tcp_wmem; the receive window is half the receive buffer, Linux's
 *    tcp_adv_win_scale = 1).
 * 3. Slow start. A new connection starts from the initial window (10
 *    segments) and doubles it every RTT while that window limits it; with
 *    network.tcp.slow_start_after_idle, a connection idle for an RTO (RTT +
 *    200 ms, Linux's minimum) halves its window per RTO idle, down to the
 *    initial window (tcp_cwnd_restart in net/ipv4/tcp_output.c), and ramps
 *    up again.
 *
 * The RTT is the route's delay there and back (the ACKs' route), without
 * queueing. The constants and their calibration against emulated runs are
 * in docs/simulator.md.
 */

export interface TcpSharing {
  /** Share weight RTT^-rttExponent. */
  rttExponent: number;
  /** The share of a link's rate TCP turns into goodput (LV08's bandwidth factor, 0.97 there). */
  bandwidthFactor: number;
  /** Payload bytes a connection may have in flight (Infinity: no limit). */
  windowBytes: number;
  /** Initial window, payload bytes (10 segments of 1448). */
  initialWindowBytes: number;
  slowStartAfterIdle: boolean;
}

/** Linux's initial window: 10 segments (RFC 6928). */
export const INITIAL_WINDOW_BYTES = 10 * 1448;
/** Linux's minimum retransmission timeout, added to the RTT for the RTO. */
export const RTO_MIN_S = 0.2;
/** RTTs below this count as this (a weight of 1/0 would take a whole link). */
export const RTT_FLOOR_S = 1e-4;

export interface WeightedFlow {
  route: number[];
  rate: number;
  /** Share weight (> 0). */
  weight: number;
  /** The flow's own bound, bytes/s (Infinity: none). */
  cap: number;
}

/**
 * Weighted max-min fair rates with per-flow bounds, by progressive filling:
 * every unfrozen flow runs at weight x level; raise the level until a link
 * is full (freeze its flows) or a flow reaches its bound (freeze it).
 * O(rounds x (links + flows)); ties go to links before flows, then to the
 * lower link id or the earlier flow, so the result is deterministic.
 */
export function weightedMaxMinRates(flows: WeightedFlow[], capacity: Float64Array, bandwidthFactor = 1): void {
  const links: number[] = [];
  const remaining = new Map<number, number>();
  const weightOn = new Map<number, number>();
  const flowsOn = new Map<number, number[]>();
  flows.forEach((flow, f) => {
    flow.rate = -1;
    for (const l of flow.route) {
      if (!flowsOn.has(l)) {
        links.push(l);
        remaining.set(l, capacity[l] * bandwidthFactor);
        weightOn.set(l, 0);
        flowsOn.set(l, []);
      }
      weightOn.set(l, weightOn.get(l)! + flow.weight);
      flowsOn.get(l)!.push(f);
    }
  });
  links.sort((a, b) => a - b);
  // links with flows still unfrozen (a count, so float residue of the weight sums never keeps a link in)
  const open = new Map(links.map((l) => [l, flowsOn.get(l)!.length]));
  const freeze = (f: number, rate: number) => {
    const flow = flows[f];
    flow.rate = rate;
    for (const l of flow.route) {
      remaining.set(l, remaining.get(l)! - rate);
      weightOn.set(l, weightOn.get(l)! - flow.weight);
      open.set(l, open.get(l)! - 1);
    }
  };
  let unfrozen = flows.length;
  while (unfrozen > 0) {
    let level = Infinity;
    let link = -1;
    let capped = -1;
    for (const l of links) {
      if (open.get(l) === 0) continue;
      const x = Math.max(0, remaining.get(l)!) / weightOn.get(l)!;
      if (x < level) {
        level = x;
        link = l;
      }
    }
    flows.forEach((flow, f) => {
      if (flow.rate >= 0) return;
      const x = flow.cap / flow.weight;
      if (x < level) {
        level = x;
        link = -1;
        capped = f;
      }
    });
    if (link >= 0) {
      for (const f of flowsOn.get(link)!) {
        if (flows[f].rate >= 0) continue;
        freeze(f, flows[f].weight * level);
        unfrozen--;
      }
    } else if (capped >= 0) {
      freeze(capped, flows[capped].cap);
      unfrozen--;
    } else {
      // flows on no link at all (an empty route): nothing bounds them
      for (const flow of flows) if (flow.rate < 0) flow.rate = Infinity;
      break;
    }
  }
}

/** A connection's RTT and its share weight and window bound under `model`. */
export function tcpConnectionShape(model: TcpSharing, rttS: number, wireBytesOf: (payload: number) => number): { rtt: number; weight: number; windowCap: number } {
  const rtt = Math.max(RTT_FLOOR_S, rttS);
  return { rtt, weight: rtt ** -model.rttExponent, windowCap: wireBytesOf(model.windowBytes) / rtt };
}

/** The window a connection restarts with after `idleS` seconds idle (tcp_cwnd_restart): halved per RTO, not below the initial window. */
export function windowAfterIdle(model: TcpSharing, windowBytes: number, idleS: number, rtt: number): number {
  if (!model.slowStartAfterIdle) return windowBytes;
  const rtos = Math.floor(idleS / (rtt + RTO_MIN_S));
  if (rtos <= 0) return windowBytes;
  return Math.max(model.initialWindowBytes, windowBytes / 2 ** Math.min(rtos, 60));
}
