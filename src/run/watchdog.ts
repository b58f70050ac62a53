/**
 * The emulated run's stall watchdog, the wall-clock twin of the
 * simulator's stall check: when for `stallS` seconds no message was
 * delivered, no worker reported, and no link whose trace is above 0 carried
 * a byte, the run is stuck (a stopped or hung agent, links at 0 Mbit/s,
 * links that drop every packet). It then fails with what is waiting on
 * what, instead of hanging without a word. Links at 0 whose trace recovers
 * later push the deadline to that time: an outage is not a stall.
 */
import type { Trace } from '../scenario/trace.js';

/** Default seconds without progress before an emulated run is declared stalled (beyond the compute time). */
export const DEFAULT_STALL_S = 60;

export class StallWatchdog {
  private lastProgress: number;

  constructor(
    private readonly stallS: number,
    private readonly traces: Trace[],
    private readonly now: () => number,
  ) {
    this.lastProgress = now();
  }

  /** Something moved (a delivery, a report, bytes on a live link). */
  progress(at = this.now()): void {
    if (at > this.lastProgress) this.lastProgress = at;
  }

  /** Seconds since the last progress. */
  idleS(): number {
    return this.now() - this.lastProgress;
  }

  /** True when the run counts as stalled now. */
  stalled(): boolean {
    const now = this.now();
    if (now - this.lastProgress <= this.stallS) return false;
    // a link at 0 that comes back later: wait for it (and stallS beyond)
    for (const trace of this.traces) {
      if (trace.rateAt(now) > 0) continue;
      const next = trace.nextChangeAfter(now);
      if (next < Infinity && now - Math.max(this.lastProgress, next) <= this.stallS) return false;
    }
    return true;
  }
}
