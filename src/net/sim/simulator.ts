/**
 * Drives virtual time: runs the events due now, completes the messages
 * whose last byte leaves now, settles the fair rates once, and jumps to the
 * next instant at which anything happens.
 */
import { EventQueue } from './events.js';
import { SimNetwork } from './network.js';
import type { Topology } from '../topology.js';
import type { Framing } from '../wire.js';
import type { Trace } from '../../model/trace.js';
import type { TcpSharing } from './tcp-sharing.js';
import { UserError } from '../../util/errors.js';

/** Simulated seconds without any delivery, while every flow is stuck at 0 Mbit/s, before a run is declared stalled. */
export const STALL_LIMIT_S = 7 * 24 * 3600;

export class Simulator {
  readonly events = new EventQueue();
  readonly network: SimNetwork;

  /**
   * `delayTraces`: per link, its delay over time (values in ms), or null for
   * the topology's constant delay; `tcp`: the TCP-aware sharing model, or
   * null for pure max-min.
   */
  constructor(topology: Topology, traces: Trace[], binS = 1, framing: Framing = 'tcp', delayTraces: (Trace | null)[] = [], tcp: TcpSharing | null = null) {
    this.network = new SimNetwork(topology, traces, this.events, binS, framing, delayTraces, tcp);
  }

  now(): number {
    return this.events.now();
  }

  /**
   * Run until `isDone()` holds after an instant has settled (returns true),
   * or until the wall clock (performance.now()) passes `pauseAtMs` (returns
   * false; call again to go on), so a caller can let its event loop run.
   */
  run(isDone: () => boolean, onInstant?: (now: number) => void, pauseAtMs = Infinity): boolean {
    const { events, network } = this;
    for (let instants = 1; ; instants++) {
      const now = events.now();
      for (;;) {
        network.completeDue(now);
        const ran = events.runDue();
        if (!ran && network.nextFinishTime() > now) {
          network.settle(now);
          if (network.nextFinishTime() > now && events.nextTime() > now) break;
        }
      }
      onInstant?.(now);
      if (isDone()) return true;
      const next = Math.min(events.nextTime(), network.nextFinishTime());
      const stuck = network.nextFinishTime() === Infinity && network.hasActiveFlows() && network.stalledLinks().length > 0;
      if (next === Infinity || (stuck && next - network.lastDeliveryAt > STALL_LIMIT_S)) {
        const links = network.stalledLinks();
        throw new UserError(
          `the simulation stalled at t=${now.toFixed(3)} s: ` +
            (links.length ? `messages wait on links at 0 Mbit/s that do not recover (${links.join(', ')})` : 'nothing left to do but the run is not complete'),
        );
      }
      events.advanceTo(next);
      if ((instants & 63) === 0 && performance.now() > pauseAtMs) return false;
    }
  }
}
