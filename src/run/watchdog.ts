/**
 * The emulated run's stall watchdog, the wall-clock twin of the
 * simulator's stall check. The run is stalled when for `stallS` seconds no
 * message was delivered and no worker reported, and the agents together
 * read less from their connections over those seconds than the slowest
 * link now above 0 Mbit/s carries in one: bytes that reach the agents are
 * the progress, not packets that trickle through (a link that lets a
 * packet through every few seconds is no less stuck). A slow link is no
 * stall: it keeps delivering bytes of a long message at its rate, stallS
 * times that floor. A link at 0 whose trace recovers later pushes the
 * deadline to that time: an outage is not a stall. (A link at 0 for ever
 * is refused before the network is built: run/link-backends.ts.)
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
  /** The agents' bytes read in all, at each reading (oldest first; those older than stallS before the newest dropped but one). */
  private readonly reads: { at: number; bytes: number }[] = [];

  constructor(
    private readonly stallS: number,
    private readonly traces: Trace[],
    private readonly now: () => number,
  ) {
    this.lastMessage = now();
  }

  /** A message was delivered or a worker reported. */
  message(at = this.now()): void {
    this.lastMessage = Math.max(this.lastMessage, at);
  }

  /** The agents have read `totalBytes` from their connections in all, as of now. */
  read(totalBytes: number, at = this.now()): void {
    this.reads.push({ at, bytes: totalBytes });
    while (this.reads.length > 2 && this.reads[1].at <= at - this.stallS) this.reads.shift();
  }

  /** Seconds since the last delivered message or report. */
  idleS(): number {
    return this.now() - this.lastMessage;
  }

  /** Bytes the agents read over the last stallS seconds (since the first reading, if that is later). */
  private readOverWindow(now: number): number {
    if (this.reads.length === 0) return 0;
    const since = now - this.stallS;
    const base = [...this.reads].reverse().find((r) => r.at <= since) ?? this.reads[0];
    return this.reads[this.reads.length - 1].bytes - base.bytes;
  }

  /** The least the agents must read over stallS seconds to be making progress: one second of the slowest link above 0 now (bytes). */
  progressFloorBytes(now = this.now()): number {
    const rates = this.traces.map((t) => t.rateAt(now)).filter((r) => r > 0);
    return rates.length ? (Math.min(...rates) * 1e6) / 8 : Infinity;
  }

  /** Is the run stalled now? */
  stalled(): boolean {
    const now = this.now();
    if (now - this.lastMessage <= this.stallS) return false;
    // a link at 0 that comes back later, or came back lately: the timeout counts from its return
    // (a return earlier than stallS ago no longer matters)
    for (const trace of this.traces) if (now - lastReturn(trace, Math.max(this.lastMessage, now - this.stallS), now) <= this.stallS) return false;
    return this.readOverWindow(now) < this.progressFloorBytes(now);
  }
}

/** When the trace last came back from 0 Mbit/s after `since` (its next return if it is at 0 now; -Infinity: not since then). */
function lastReturn(trace: Trace, since: number, now: number): number {
  if (trace.rateAt(now) <= 0) return trace.nextChangeAfter(now);
  let last = -Infinity;
  for (let t = since; ;) {
    const next = trace.nextChangeAfter(t);
    if (next > now) return last;
    if (trace.rateAt(t) <= 0 && trace.rateAt(next) > 0) last = next;
    t = next;
  }
}

/** Links whose trace is at 0 Mbit/s from some time on for ever: each with when that starts. */
export function linksDownForEver(scenario: Scenario): { link: string; fromS: number }[] {
  return scenario.links.flatMap((link) => {
    const last = link.trace.lastChange();
    return last !== null && link.trace.rateAt(last) <= 0 ? [{ link: link.name, fromS: last }] : [];
  });
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
