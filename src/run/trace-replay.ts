/**
 * Emulated runs replay each link's trace on the wall clock: at every change
 * the backend's rate is set, and the change is recorded with when it was
 * due and when it was applied (replay.csv). Links whose backend replays a
 * Mahimahi trace itself are left to it.
 */
import type { Scenario } from '../scenario/types.js';
import type { EmulatedLinks } from '../net/emu/links.js';
import { WallClock } from '../net/emu/transport.js';

export interface RateChange {
  link: string;
  scheduledS: number;
  appliedS: number;
  mbps: number;
}

export class TraceReplay {
  readonly changes: RateChange[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  /** From `epochMs` on (the run's time 0), until stopped. */
  constructor(scenario: Scenario, net: EmulatedLinks, clock: WallClock, epochMs: number, onChange: (change: RateChange) => void) {
    for (const link of scenario.links) {
      if (link.mahimahi && net.replaysMahimahi) continue; // the backend replays the trace itself
      const next = (after: number) => {
        const at = link.trace.nextChangeAfter(after);
        if (at === Infinity) return;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          const mbps = link.trace.rateAt(at);
          net.setRate(link.id, mbps);
          const change = { link: link.name, scheduledS: at, appliedS: clock.now(), mbps };
          this.changes.push(change);
          onChange(change);
          next(at);
        }, Math.max(0, epochMs + at * 1000 - WallClock.epochNow()));
        this.timers.add(timer);
      };
      next(0);
    }
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
