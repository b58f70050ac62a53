/**
 * The emulated run's stall watchdog, the wall-clock twin of the
 * simulator's stall check. The run is stalled when for `stallS` seconds no
 * message was delivered and no worker reported, and either
 * - no agent read a byte from its TCP connections (nothing moves: a
 *   stopped or hung agent, links that drop every packet), or
 * - packets wait only on links whose trace is at 0 Mbit/s (htb still lets
 *   1 kbit/s through such a link, so bytes trickle, but the run cannot end).
 * A slow link is no stall: it keeps delivering bytes of a long message and
 * holds packets itself. A link at 0 whose trace recovers later pushes the
 * deadline to that time: an outage is not a stall.
 */
import type { Trace } from '../model/trace.js';
import type { Scenario } from '../scenario/types.js';
import { UserError } from '../util/errors.js';
import { processState } from '../util/process.js';

/** Seconds between heartbeats to the agents; one unanswered for HEARTBEAT_LATE_S counts as not answering. */
export const HEARTBEAT_S = 1;
export const HEARTBEAT_LATE_S = 3;

/** Default seconds without progress before an emulated run is declared stalled (beyond the compute time). */
export const DEFAULT_STALL_S = 60;

export class StallWatchdog {
  private lastMessage: number;
  private lastBytes: number;

  constructor(
    private readonly stallS: number,
    private readonly traces: Trace[],
    private readonly now: () => number,
  ) {
    this.lastMessage = this.lastBytes = now();
  }

  /** A message was delivered or a worker reported. */
  message(at = this.now()): void {
    this.lastMessage = Math.max(this.lastMessage, at);
    this.lastBytes = Math.max(this.lastBytes, at);
  }

  /** An agent read bytes from its connections. */
  bytes(at = this.now()): void {
    this.lastBytes = Math.max(this.lastBytes, at);
  }

  /** Seconds since the last delivered message or report. */
  idleS(): number {
    return this.now() - this.lastMessage;
  }

  /** Is the run stalled now? `backlog`: bytes queued on each directed link at the last sample. */
  stalled(backlog: number[]): boolean {
    const now = this.now();
    if (now - this.lastMessage <= this.stallS) return false;
    // a link at 0 that comes back later: wait for it (and stallS beyond)
    for (const trace of this.traces) {
      if (trace.rateAt(now) > 0) continue;
      const next = trace.nextChangeAfter(now);
      if (next < Infinity && now - Math.max(this.lastMessage, next) <= this.stallS) return false;
    }
    if (now - this.lastBytes > this.stallS) return true;
    const queued = backlog.map((b, id) => ({ b, id })).filter(({ b }) => b > 0);
    return queued.length > 0 && queued.every(({ id }) => this.traces[id].rateAt(now) <= 0);
  }
}

/**
 * What a stalled emulated run waits on: agents that do not answer (and
 * whether the kernel says they are stopped), links at 0 Mbit/s or dropping
 * every packet, and the workers that have not finished the current
 * iteration. A UserError (exit 2) when the scenario itself stalls the run
 * (links at 0 or dropping everything), else exit 1.
 */
export function diagnoseStall(
  scenario: Scenario,
  s: { now: number; idleS: number; current: number; doneThrough: Map<string, number>; lastPong: Map<string, number>; pids: Map<string, number>; backlog: number[] },
): UserError {
  const parts: string[] = [];
  const silent = scenario.nodes.filter((n) => s.now - (s.lastPong.get(n) ?? -Infinity) > HEARTBEAT_LATE_S);
  if (silent.length) {
    parts.push(`agents not answering: ${silent.map((n) => `${n}${processState(s.pids.get(n) ?? -1) === 'T' ? ' (stopped, e.g. by SIGSTOP)' : ''}`).join(', ')}`);
  }
  const zero = scenario.links.filter((l) => l.trace.rateAt(s.now) <= 0);
  const zeroQueued = zero.filter((l) => s.backlog[l.id] > 0);
  if (zero.length) parts.push(`links at 0 Mbit/s${zeroQueued.length ? ' (with packets queued on ' + zeroQueued.map((l) => l.name).join(', ') + ')' : ''}: ${zero.map((l) => l.name).join(', ')}`);
  const dropping = scenario.links.filter((l) => l.lossPercent >= 100);
  if (dropping.length) parts.push(`links that drop every packet (loss_percent 100): ${dropping.map((l) => l.name).join(', ')}`);
  const waiting = scenario.workers.filter((w) => (s.doneThrough.get(w) ?? -1) < s.current);
  if (waiting.length) parts.push(`iteration ${s.current} waits on ${waiting.join(', ')}`);
  const message = `no progress for ${s.idleS.toFixed(0)} s (at t=${s.now.toFixed(1)} s): ${parts.join('; ') || 'no message delivered and no link busy'}`;
  return new UserError(message, zero.length || dropping.length ? 2 : 1);
}
