/**
 * The fidelity of an emulated run, per directed link: while the link had
 * packets queued, what it carried against what its trace allowed (measured
 * by net/emu/sampler.ts). A link that fell short means the host could not
 * keep up, and the run says so.
 */
import type { LinkFidelity } from '../net/emu/sampler.js';

export type { LinkFidelity };

/** A link that was busy at least this long and carried under this share of its allowance is flagged. */
export const FIDELITY_THRESHOLD = 0.9;
export const FIDELITY_MIN_BUSY_S = 0.1;

/** Links busy long enough whose carried share fell under the threshold. */
export function flaggedLinks(fidelity: LinkFidelity[]): LinkFidelity[] {
  return fidelity.filter((f) => f.busyS >= FIDELITY_MIN_BUSY_S && f.ratio < FIDELITY_THRESHOLD);
}

/** One line per scheduler for the terminal: the busy links' overall share and the worst link. */
export function fidelityLine(scheduler: string, links: LinkFidelity[], name: (link: number) => string): string {
  const busy = links.filter((f) => f.busyS > 0);
  if (busy.length === 0) return `${scheduler}: no link was busy`;
  const carried = busy.reduce((s, f) => s + f.carriedMbps * f.busyS, 0);
  const allowed = busy.reduce((s, f) => s + f.allowedMbps * f.busyS, 0);
  const considered = busy.filter((f) => f.busyS >= FIDELITY_MIN_BUSY_S);
  const worst = considered.reduce<LinkFidelity | null>((w, f) => (w === null || f.ratio < w.ratio ? f : w), null);
  const flagged = flaggedLinks(links);
  return `${scheduler}: busy links carried ${(100 * carried / allowed).toFixed(1)}% of what their traces allowed` +
    (worst ? ` (lowest: ${name(worst.link)} ${(100 * worst.ratio).toFixed(1)}% over ${worst.busyS.toFixed(1)} s)` : '') +
    (flagged.length ? ` -- BELOW ${100 * FIDELITY_THRESHOLD}% on ${flagged.map((f) => name(f.link)).join(', ')}: the host could not keep up` : '');
}
