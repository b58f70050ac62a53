/**
 * The tc commands that shape one directed link on its sending veth.
 *
 *   root htb 1: ── class 1:1 (the link's rate; trace changes touch only this)
 *                   ├─ class 1:2   default: anything not matched below
 *                   └─ class 1:N   one per (source node, destination node)
 *                                  pair whose underlay route crosses the link
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
 */

import { FRAME_BYTES } from '../wire.js';
import { queueLimit, type LinkShape, type Queueing } from '../emu/links.js';


/** htb cannot shape to 0: an outage is emulated as this rate. */
export const MIN_RATE_BPS = 1000;

/** A (source, destination) pair of node addresses whose packets cross the link. */
export interface Pair {
  src: string;
  dst: string;
}

/** htb parameters for a rate: burst of 2 ms at that rate, at least two full frames. */
export function htbRate(mbps: number): string {
  const bps = Math.max(MIN_RATE_BPS, Math.round(mbps * 1e6));
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

/** Commands (for `tc -batch`, without the leading "tc") that shape one link. */
export function linkShapingCommands(device: string, shape: LinkShape, pairs: Pair[], queueing: Queueing): string[] {
  if (queueing === 'fifo') {
    return [
      `qdisc add dev ${device} root handle 1: htb default 1`,
      `class add dev ${device} parent 1: classid 1:1 htb ${htbRate(shape.mbps)}`,
      leafQdisc(device, '1:1', '10:', shape),
    ];
  }
  const lines = [
    `qdisc add dev ${device} root handle 1: htb default 2`,
    `class add dev ${device} parent 1: classid 1:1 htb ${htbRate(shape.mbps)}`,
    `class add dev ${device} parent 1:1 classid 1:2 htb ${BORROWER}`,
    leafQdisc(device, '1:2', '2:', shape),
    // Packets under 128 bytes (pure ACKs, mostly) are a flow of their own,
    // as fq_codel's 5-tuple hash would make them, not stuck behind the
    // data their pair sends the other way.
    `class add dev ${device} parent 1:1 classid 1:3 htb ${BORROWER}`,
    leafQdisc(device, '1:3', '3:', shape),
    `filter add dev ${device} parent 1: protocol ip prio 1 u32 match u16 0 0xff80 at 2 flowid 1:3`,
  ];
  pairs.forEach((pair, k) => {
    const minor = (0x10 + k).toString(16);
    lines.push(
      `class add dev ${device} parent 1:1 classid 1:${minor} htb ${BORROWER}`,
      leafQdisc(device, `1:${minor}`, `${minor}:`, shape),
      `filter add dev ${device} parent 1: protocol ip prio 2 u32 match ip src ${pair.src}/32 match ip dst ${pair.dst}/32 flowid 1:${minor}`,
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

/** The in-place rate change of a link (class 1:1 in both layouts). */
export function rateChangeCommand(device: string, mbps: number): string {
  return `class change dev ${device} parent 1: classid 1:1 htb ${htbRate(mbps)}`;
}
