/**
 * Emulated runs replay each link's traces on the wall clock: at every change
 * of its rate, delay or loss the backend is told, and the change is recorded
 * with when it was due, when it was applied and what the link then has
 * (replay.csv). A rate the backend replays itself (a Mahimahi trace on the
 * native emulator) is left to it.
 */
import type { Scenario, DirectedLinkSpec } from '../scenario/types.js';
import type { EmulatedLinks } from '../net/emu/links.js';
import type { Trace } from '../model/trace.js';
import { WallClock } from '../net/emu/transport.js';

export interface LinkChange {
  link: string;
  scheduledS: number;
  appliedS: number;
  /** What the link has from then on (a Mahimahi trace's rate averaged over its bins). */
  mbps: number;
  delayMs: number;
  lossPercent: number;
}

/** The traces of a link the runner replays, each with how the backend is told. */
function replayed(link: DirectedLinkSpec, net: EmulatedLinks): { trace: Trace; apply: (value: number) => void }[] {
  const parts = [];
  if (!(link.mahimahi && net.replaysMahimahi)) parts.push({ trace: link.trace, apply: (mbps: number) => net.setRate(link.id, mbps) });
  if (link.delayOverTime) parts.push({ trace: link.delayOverTime.trace, apply: (ms: number) => net.setDelay(link.id, ms / 1000) });
  if (link.lossOverTime) parts.push({ trace: link.lossOverTime.trace, apply: (percent: number) => net.setLoss(link.id, percent) });
  return parts;
}

export class TraceReplay {
  readonly changes: LinkChange[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  /** From `epochMs` on (the run's time 0), until stopped. */
  constructor(scenario: Scenario, net: EmulatedLinks, clock: WallClock, epochMs: number, onChange: (change: LinkChange) => void) {
    for (const link of scenario.links) {
      const parts = replayed(link, net);
      if (parts.length === 0) continue;
      // One timer per link, at the next change of any of its traces; changes due together are applied together.
      const next = (after: number) => {
        const at = Math.min(...parts.map((p) => p.trace.nextChangeAfter(after)));
        if (at === Infinity) return;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          for (const p of parts) if (p.trace.rateAt(at) !== p.trace.rateAt(after)) p.apply(p.trace.rateAt(at));
          const change = {
            link: link.name, scheduledS: at, appliedS: clock.now(), mbps: link.trace.rateAt(at),
            delayMs: link.delayOverTime ? link.delayOverTime.trace.rateAt(at) : link.delayS * 1000,
            lossPercent: link.lossOverTime ? link.lossOverTime.trace.rateAt(at) : link.lossPercent,
          };
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
