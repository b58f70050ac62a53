/**
 * The tc commands that shape one directed link on its sending veth.
 *
 *   root tbf 9: (the outage gate: open, or shut while the trace is at 0)
 *   └─ htb 1: ── class 1:1 (the link's rate; trace changes touch only this)
 *                 ├─ class 1:2   default: anything not matched below
 *                 └─ class 1:N   one per (source node, destination node)
 *                                pair whose underlay route crosses the link
 *
 * The per-pair classes borrow everything from 1:1 with equal quanta, so htb
 * serves them round-robin: per-flow fair queueing at every hop (what Linux's
 * default fq_codel gives real hosts and routers; this kernel has no fq,
 * fq_codel or sfq). Fair queueing at every hop yields max-min fair rates,
 * the allocation the simulator computes, and keeps a pair's ACKs out of the
 * queue its data builds on the reverse link. `fifo` keeps one drop-tail
 * queue per link instead (one class, 1:1).
 *
 * Each leaf queue is a pfifo of `queuePackets`, or a netem with that limit
 * when the link has delay or loss (only where the kernel has netem).
 *
 * A rate of 0 cannot be an htb rate (htb refuses 0), and a tiny one breaks
 * the link after the outage: htb charges a packet's wire time at the
 * class's rate even when it is sent at once, so one 1514-byte frame at
 * 1 kbit/s left the class 12 s in debt, and its tokens (time, kept across
 * `tc class change`) held the link near-dead for tens of seconds after the
 * rate came back (issue 25). So an outage shuts the gate instead: tbf sends
 * a packet only when its tokens cover it, and `tc qdisc change` refills
 * them, so reopening restores the full rate at once. Shut, the gate's burst
 * covers one frame (a packet larger than the burst would be dropped, not
 * held), so up to one frame leaves as the outage begins and then none for
 * two minutes; htb keeps its last rate meanwhile and hands the gate one
 * packet, charged at that rate. The packets wait in htb's queues, as they
 * would in a router's before a link that is down.
 *
 * Reopening needs a nudge: tbf's change does not reschedule the device,
 * and TCP retransmits nothing while its packets still sit in this host's
 * queue, so nothing would call the qdisc again for minutes. The nudge is
 * one UDP datagram to the link's far end, port 9 (KICK_PORT), which a u32
 * filter redirects to the namespace's loopback, where it is discarded
 * (its Ethernet address is not the loopback's); its enqueue runs the
 * qdisc. It never reaches the wire, a capture or a counter.
 */

import { FRAME_BYTES } from '../wire.js';
import { queueLimit, type LinkShape, type Queueing } from '../emu/links.js';

/** The outage gate's tbf: open (far above any link's rate, a burst above a 64 kB GSO packet) or shut. */
const GATE_OPEN = 'rate 100gbit burst 262144 limit 1';
const GATE_SHUT = 'rate 100bit burst 1600 limit 1';
/** The htb rate of a link built in an outage (replaced before the gate opens): the one packet it hands the gate costs it microseconds. */
const RATE_WHILE_SHUT_MBPS = 1000;
/** The port of the datagram that nudges a reopened gate (see above). */
export const KICK_PORT = 9;

/** A (source, destination) pair of node addresses whose packets cross the link. */
export interface Pair {
  src: string;
  dst: string;
}

/** htb parameters for a rate above 0: burst of 2 ms at that rate, at least two full frames. */
export function htbRate(mbps: number): string {
  if (!(mbps > 0)) throw new Error(`htbRate: ${mbps} Mbit/s; an outage shuts the gate (gateCommand)`);
  const bps = Math.round(mbps * 1e6);
  const burst = Math.max(3200, Math.round((bps / 8) * 0.002));
  return `rate ${bps}bit ceil ${bps}bit burst ${burst} cburst ${burst} quantum ${FRAME_BYTES}`;
}

/** A leaf class: guarantees almost nothing, borrows up to the whole link. */
const BORROWER = 'rate 8kbit ceil 100gbit burst 3200 cburst 3200 quantum 1514';

/** Does the link need netem leaves (delay, jitter or loss, now or later)? */
export function needsNetem(shape: LinkShape): boolean {
  return shape.delayS > 0 || shape.lossPercent > 0 || !!shape.jitterS || !!shape.varies;
}

function netemParameters(shape: LinkShape): string {
  const jitter = shape.jitterS ? ` ${(shape.jitterS * 1000).toFixed(3)}ms` : '';
  const delay = shape.delayS > 0 || jitter ? ` delay ${(shape.delayS * 1000).toFixed(3)}ms${jitter}` : '';
  const loss = shape.lossPercent > 0 ? ` loss ${shape.lossPercent}%` : '';
  return `netem limit ${queueLimit(shape)}${delay}${loss}`;
}

function leafQdisc(device: string, parent: string, handle: string, shape: LinkShape): string {
  if (needsNetem(shape)) return `qdisc add dev ${device} parent ${parent} handle ${handle} ${netemParameters(shape)}`;
  return `qdisc add dev ${device} parent ${parent} handle ${handle} pfifo limit ${queueLimit(shape)}`;
}

/** The leaf queues of a link: (parent class, qdisc handle), in the order linkShapingCommands makes them. */
function leaves(pairs: Pair[], queueing: Queueing): [string, string][] {
  if (queueing === 'fifo') return [['1:1', '10:']];
  return [['1:2', '2:'], ['1:3', '3:'], ...pairs.map((_, k): [string, string] => {
    const minor = (0x10 + k).toString(16);
    return [`1:${minor}`, `${minor}:`];
  })];
}

/**
 * The in-place change of a link's delay and loss: every leaf netem at once
 * (a link that changes them was built with netem leaves, see `varies`).
 * netem may reorder packets already queued when the delay falls.
 */
export function netemChangeCommands(device: string, shape: LinkShape, pairs: Pair[], queueing: Queueing): string[] {
  return leaves(pairs, queueing).map(([parent, handle]) => `qdisc change dev ${device} parent ${parent} handle ${handle} ${netemParameters(shape)}`);
}

/** Open or shut a link's outage gate, in place. */
export function gateCommand(device: string, open: boolean): string {
  return `qdisc change dev ${device} root handle 9: tbf ${open ? GATE_OPEN : GATE_SHUT}`;
}

/** The filter that sends the nudge to the far end `peer` (its link address) to the loopback instead of the wire. */
function kickFilter(device: string, peer: string, prio: number): string {
  return `filter add dev ${device} parent 1: protocol ip prio ${prio} u32 match ip dst ${peer}/32 match ip protocol 17 0xff match ip dport ${KICK_PORT} 0xffff action mirred egress redirect dev lo`;
}

/**
 * Commands (for `tc -batch`, without the leading "tc") that shape one link
 * whose far end has the link address `peer`; at a rate of 0 the gate starts shut.
 */
export function linkShapingCommands(device: string, shape: LinkShape, peer: string, pairs: Pair[], queueing: Queueing): string[] {
  const open = shape.mbps > 0;
  const gate = [`qdisc add dev ${device} root handle 9: tbf ${open ? GATE_OPEN : GATE_SHUT}`];
  const rate = htbRate(open ? shape.mbps : RATE_WHILE_SHUT_MBPS);
  if (queueing === 'fifo') {
    return [
      ...gate,
      `qdisc add dev ${device} parent 9:1 handle 1: htb default 1`,
      `class add dev ${device} parent 1: classid 1:1 htb ${rate}`,
      leafQdisc(device, '1:1', '10:', shape),
      kickFilter(device, peer, 1),
    ];
  }
  const lines = [
    ...gate,
    `qdisc add dev ${device} parent 9:1 handle 1: htb default 2`,
    `class add dev ${device} parent 1: classid 1:1 htb ${rate}`,
    `class add dev ${device} parent 1:1 classid 1:2 htb ${BORROWER}`,
    leafQdisc(device, '1:2', '2:', shape),
    kickFilter(device, peer, 1),
    // Packets under 128 bytes (pure ACKs, mostly) are a flow of their own,
    // as fq_codel's 5-tuple hash would make them, not stuck behind the
    // data their pair sends the other way.
    `class add dev ${device} parent 1:1 classid 1:3 htb ${BORROWER}`,
    leafQdisc(device, '1:3', '3:', shape),
    `filter add dev ${device} parent 1: protocol ip prio 2 u32 match u16 0 0xff80 at 2 flowid 1:3`,
  ];
  pairs.forEach((pair, k) => {
    const minor = (0x10 + k).toString(16);
    lines.push(
      `class add dev ${device} parent 1:1 classid 1:${minor} htb ${BORROWER}`,
      leafQdisc(device, `1:${minor}`, `${minor}:`, shape),
      `filter add dev ${device} parent 1: protocol ip prio 3 u32 match ip src ${pair.src}/32 match ip dst ${pair.dst}/32 flowid 1:${minor}`,
    );
  });
  return lines;
}

/** The longest a link may be held by one (GSO) packet: a full frame at 100 Mbit/s. */
const GSO_BURST_S = 0.000125;

/**
 * Segments per packet on a link's sending veth: as many as fit in 125 us at
 * its rate (1 up to 64), so one per packet up to 190 Mbit/s. Real WAN links
 * carry one segment per packet; veths pass 64 kB GSO packets, which at
 * 100 Mbit/s hold a link for 5 ms, and a flow with a sub-millisecond RTT
 * stalls behind them (it got 28 of its 50 Mbit/s max-min share in our
 * tests; 32 with 0.5 ms packets; 48 with one segment). One segment per
 * packet at every rate would cost the host far more CPU at high rates.
 */
export function gsoSegments(mbps: number): number {
  return Math.max(1, Math.min(64, Math.floor((mbps * 1e6 * GSO_BURST_S) / 8 / FRAME_BYTES)));
}

/** The in-place change of a link's rate above 0 (class 1:1 in both layouts). */
export function rateChangeCommand(device: string, mbps: number): string {
  return `class change dev ${device} parent 1: classid 1:1 htb ${htbRate(mbps)}`;
}
