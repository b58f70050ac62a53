/**
 * Per-link counters every 100 ms, from whichever backend carries the links
 * (its LinkCounters: bytes sent, packets dropped, the backlog). From these
 * come links.csv (bytes carried per time bin) and the fidelity report:
 * while a link had packets queued, did it carry what its trace allowed?
 * (Mininet-HiFi's check; if not, the host could not keep up.)
 */
import type { LinkCounters } from './links.js';
import { binIndex, LinkBins } from '../../util/bins.js';
import { megabitsBetween, timeToAllow, type Trace } from '../../model/trace.js';

export const SAMPLE_INTERVAL_MS = 100;

/**
 * What one directed link did while it was certainly busy: for a sample with
 * B bytes queued, the next B / rate seconds (at most until the next sample).
 */
export interface LinkFidelity {
  link: number;
  busyS: number;
  /** Mbit/s the trace allowed over the busy stretches (mean). */
  allowedMbps: number;
  /** Mbit/s the link carried over them (at most the allowance per stretch). */
  carriedMbps: number;
  /** carried / allowed; NaN when the link was never busy. */
  ratio: number;
  droppedPackets: number;
}

/** A link's counters at one time of the run. */
export interface LinkSample {
  at: number;
  sentBytes: number;
  dropped: number;
  backlogBytes: number;
}

/**
 * The stretch after `previous` in which the link was certainly busy: with B
 * bytes queued it has work until the trace has allowed B bytes (or the
 * whole interval). Over it the link must carry what the trace allows;
 * carrying less means the host fell behind. Bytes beyond the allowance may
 * be new arrivals, so they are not counted. Null when nothing was queued or
 * the trace allowed nothing.
 */
export function busyStretch(previous: LinkSample, next: LinkSample, trace: Trace): { busyS: number; allowedMb: number; carriedMb: number } | null {
  if (previous.backlogBytes <= 0 || previous.at < 0 || next.at <= previous.at) return null;
  const from = previous.at + EDGE_NUDGE_S, until = next.at + EDGE_NUDGE_S;
  const busyS = timeToAllow(trace, from, (previous.backlogBytes * 8) / 1e6, until) - from;
  const allowedMb = megabitsBetween(trace, from, from + busyS);
  if (allowedMb <= 0) return null;
  return { busyS, allowedMb, carriedMb: Math.min(((next.sentBytes - previous.sentBytes) * 8) / 1e6, allowedMb) };
}

/**
 * Readings fall on the traces' rate edges (0.3 s, 1.2 s: decimals a binary
 * float cannot hold, so a looped trace may place 0.3 s just before its
 * edge): each interval is read 1 ns later, on the right side of every edge.
 */
const EDGE_NUDGE_S = 1e-9;

export class LinkSampler {
  private readonly first = new Map<number, LinkSample>();
  private readonly last = new Map<number, LinkSample>();
  private readonly busy: { seconds: number; allowedMb: number; carriedMb: number; firstDropped: number | null; dropped: number }[];
  readonly carried: LinkBins;

  constructor(
    private readonly counters: LinkCounters,
    private readonly traces: Trace[],
    private readonly now: () => number,
    readonly binS: number,
  ) {
    this.carried = new LinkBins(traces.length, binS);
    this.busy = traces.map(() => ({ seconds: 0, allowedMb: 0, carriedMb: 0, firstDropped: null, dropped: 0 }));
  }

  start(): void {
    this.counters.start(SAMPLE_INTERVAL_MS, (r) => this.record(r.link, { at: r.atS, sentBytes: r.sentBytes, dropped: r.dropped, backlogBytes: r.backlogBytes }), this.now);
  }

  private record(id: number, now: LinkSample): void {
    const previous = this.last.get(id);
    this.last.set(id, now);
    if (!this.first.has(id) && now.at >= 0) this.first.set(id, now);
    const b = this.busy[id];
    b.firstDropped ??= now.dropped;
    b.dropped = now.dropped - b.firstDropped;
    if (!previous || now.at < 0) return;
    const bytes = now.sentBytes - previous.sentBytes;
    // the bin the interval falls in (its middle: readings on the run's grid end an interval at a bin's edge);
    // (a sample after the run's end, for a bin already handed to the results, is not reported)
    const bin = binIndex((previous.at + now.at) / 2, this.binS);
    if (bin >= this.carried.firstOpen) this.carried.add(id, bin, bytes);
    const stretch = busyStretch(previous, now, this.traces[id]);
    if (stretch) {
      b.seconds += stretch.busyS;
      b.allowedMb += stretch.allowedMb;
      b.carriedMb += stretch.carriedMb;
    }
  }

  /**
   * Up to when every link's bytes are in `carried` (the earliest of their
   * last readings): a later reading's interval starts there, so the bins
   * before it are complete.
   */
  readUntil(): number {
    return this.traces.reduce((until, _, id) => Math.min(until, this.last.get(id)?.at ?? 0), Infinity);
  }

  /** Bytes queued on each directed link at its last sample (0 before any). */
  backlogBytes(): number[] {
    return this.traces.map((_, id) => this.last.get(id)?.backlogBytes ?? 0);
  }

  /** Per directed link: the mean Mbit/s it carried between its first and last sample (NaN before two). */
  meanCarriedMbps(): number[] {
    return this.traces.map((_, id) => {
      const a = this.first.get(id), b = this.last.get(id);
      return a && b && b.at > a.at ? ((b.sentBytes - a.sentBytes) * 8) / 1e6 / (b.at - a.at) : NaN;
    });
  }

  /** Per directed link: carried against allowed while busy. */
  fidelity(): LinkFidelity[] {
    return this.busy.map((b, link) => ({
      link,
      busyS: b.seconds,
      allowedMbps: b.seconds > 0 ? b.allowedMb / b.seconds : 0,
      carriedMbps: b.seconds > 0 ? b.carriedMb / b.seconds : 0,
      ratio: b.allowedMb > 0 ? b.carriedMb / b.allowedMb : NaN,
      droppedPackets: b.dropped,
    }));
  }

  async stop(): Promise<void> {
    await this.counters.stop();
  }
}
