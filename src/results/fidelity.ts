/**
 * The fidelity of an emulated run, per directed link: while the link had
 * packets queued, what it carried against what its trace allowed (measured
 * by net/emu/sampler.ts). A link that fell short means the host could not
 * keep up, and the run says so. So does a run during which the host's CPUs
 * were saturated (run/host-load.ts): its senders were starved before their
 * packets reached a queue.
 */
import type { LinkFidelity } from '../net/emu/sampler.js';

export type { LinkFidelity };

/** A link that was busy at least this long and carried under this share of its allowance is flagged. */
export const FIDELITY_THRESHOLD = 0.9;
export const FIDELITY_MIN_BUSY_S = 0.1;

/** The host's CPUs during a run (run/host-load.ts): samples, mean idle share, share of samples under HOST_IDLE_MIN idle. */
export interface HostCpu {
  samples: number;
  meanIdle: number;
  saturatedShare: number;
}

/** A 100 ms sample with less idle CPU than this is saturated; a run saturated for more than HOST_SATURATED_MAX of its samples is flagged. */
export const HOST_IDLE_MIN = 0.1;
export const HOST_SATURATED_MAX = 0.2;

/** Did the host's CPUs stay saturated for too much of the run? */
export function hostSaturated(host: HostCpu | null): boolean {
  return host !== null && host.saturatedShare > HOST_SATURATED_MAX;
}

/** Why a run's timings are not to be trusted, or [] if the host kept up. */
export function fidelityProblems(links: LinkFidelity[], host: HostCpu | null, name: (link: number) => string): string[] {
  const problems = flaggedLinks(links).map((f) => `${name(f.link)} carried ${(100 * f.ratio).toFixed(1)}% of its allowance`);
  if (hostSaturated(host)) problems.push(`the CPUs were under ${100 * HOST_IDLE_MIN}% idle in ${(100 * host!.saturatedShare).toFixed(0)}% of the run`);
  return problems;
}

/** Links busy long enough whose carried share fell under the threshold. */
export function flaggedLinks(fidelity: LinkFidelity[]): LinkFidelity[] {
  return fidelity.filter((f) => f.busyS >= FIDELITY_MIN_BUSY_S && f.ratio < FIDELITY_THRESHOLD);
}

/** One line per scheduler for the terminal: the busy links' overall share and the worst link. */
export function fidelityLine(scheduler: string, links: LinkFidelity[], host: HostCpu | null, name: (link: number) => string): string {
  const cpu = host && host.samples > 0
    ? `; host CPUs ${(100 * host.meanIdle).toFixed(0)}% idle on average` +
      (hostSaturated(host) ? ` -- SATURATED (under ${100 * HOST_IDLE_MIN}% idle) in ${(100 * host.saturatedShare).toFixed(0)}% of the run: the host could not keep up` : '')
    : '';
  return linksLine(scheduler, links, name) + cpu;
}

function linksLine(scheduler: string, links: LinkFidelity[], name: (link: number) => string): string {
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
