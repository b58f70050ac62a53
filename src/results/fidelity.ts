/**
 * The fidelity of an emulated run: could the host keep up? Checked as
 * Mininet-HiFi's monitoring does (Handigol et al., CoNEXT 2012: a link must
 * be busy whenever its queue holds packets; processes must get the CPU they
 * ask for), and the run says when it could not, with the figures:
 *
 * - per directed link, while it had packets queued, what it carried against
 *   what its trace allowed (net/emu/sampler.ts): a link idle while its
 *   sender's packets wait for it means the emulator fell behind;
 * - the host's CPUs (run/host-load.ts): when every CPU is busy, senders are
 *   starved before their packets reach a queue, so links look idle rather
 *   than short and iterations run long;
 * - the link emulator's process and each agent's: a single-threaded process
 *   at a whole core cannot go faster;
 * - each agent's event loop: timers that fire late send late.
 *
 * A link that fell short while the host had CPU to spare is the link's
 * problem (its backend did not deliver its rate), not the host's, and is
 * reported as such, naming the link.
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

/** What one process (its main thread) got of the CPUs over a run, from 100 ms samples (run/host-load.ts). */
export interface ProcessCpu {
  samples: number;
  /** Mean share of one core it ran. */
  meanCore: number;
  /** Share of samples in which it ran at least PROCESS_BUSY_MIN of a core. */
  busyShare: number;
  /** Mean share of the time it waited, runnable, for a CPU (a figure: see healthProblems). */
  meanWait: number;
}

/** A sample at this share of a core or more is a process at its limit; more than HOST_SATURATED_MAX of them flags the run. */
export const PROCESS_BUSY_MIN = 0.9;

/** What the host gave an emulated run, beyond its links. */
export interface EmulationHealth {
  host: HostCpu;
  /** The native link emulator's process; null on kernel links (the kernel does that work). */
  linkEmulator: ProcessCpu | null;
  agents: { node: string; cpu: ProcessCpu | null; loopLagMs: { p99: number; max: number } | null }[];
  /** How late the runner's own timers (trace replay, sampling) ran at worst. */
  runnerLoopLagMaxMs: number;
  /** Real training fills the agents' cores and holds their loops by design (its compute time is real): not held against the run. */
  training: boolean;
}

const percent = (x: number) => `${(100 * x).toFixed(0)}%`;

/** What is wrong with one process's share of the CPUs ("the link emulator", "agent fra"), if anything. */
function processProblems(who: string, cpu: ProcessCpu | null): string[] {
  if (!cpu) return [];
  const problems: string[] = [];
  if (cpu.busyShare > HOST_SATURATED_MAX) problems.push(`${who} ran a whole core in ${percent(cpu.busyShare)} of the run`);
  return problems;
}

/**
 * Why the host's share of a run is not to be trusted, or []. The agents'
 * waits for a CPU and their timer lag are figures, not verdicts: measured
 * on the full-rate quickstart on this 2-core host, idle, the agents waited
 * for a CPU 13-40% of the time and their timers ran 9-139 ms late at the
 * 99th percentile (their own work on 5 MB messages holds their loops too),
 * and emulated times were 6-9% over simulated; beside two spinning
 * processes the same, 2-4% over. Neither figure separates a run that
 * keeps up from one that does not; a saturated host does (issue 14).
 */
export function healthProblems(health: EmulationHealth | null): string[] {
  if (!health) return [];
  const problems: string[] = [];
  if (hostSaturated(health.host)) problems.push(`the CPUs were under ${100 * HOST_IDLE_MIN}% idle in ${percent(health.host.saturatedShare)} of the run`);
  problems.push(...processProblems('the link emulator', health.linkEmulator));
  // (real training fills the agents' cores by design: its compute time is real)
  if (!health.training) for (const a of health.agents) problems.push(...processProblems(`agent ${a.node}`, a.cpu));
  return problems;
}

/** The health figures, in one clause: host CPUs, the emulator's and the agents' CPU and waits, the agents' timer lag. */
export function healthFigures(health: EmulationHealth): string {
  const parts = [`host CPUs ${percent(health.host.meanIdle)} idle on average`];
  if (health.linkEmulator) parts.push(`link emulator ${percent(health.linkEmulator.meanCore)} of a core (waiting ${percent(health.linkEmulator.meanWait)})`);
  const cpus = health.agents.filter((a) => a.cpu);
  if (cpus.length) {
    parts.push(`agents up to ${percent(Math.max(...cpus.map((a) => a.cpu!.meanCore)))} of a core (waiting up to ${percent(Math.max(...cpus.map((a) => a.cpu!.meanWait)))})`);
  }
  const lags = health.agents.filter((a) => a.loopLagMs);
  if (lags.length) parts.push(`agents' timers late by up to ${Math.max(...lags.map((a) => a.loopLagMs!.p99)).toFixed(1)} ms (99th percentile)`);
  return parts.join(', ');
}

/** Why a run's timings are not to be trusted, or [] if the host kept up and every link carried what it was allowed. */
export function fidelityProblems(links: LinkFidelity[], health: EmulationHealth | null, name: (link: number) => string): string[] {
  return [...flaggedLinks(links).map((f) => `${name(f.link)} carried ${(100 * f.ratio).toFixed(1)}% of its allowance`), ...healthProblems(health)];
}

/**
 * Who is to blame for the problems: the host (its CPUs, or a process at a
 * whole core, were short), the links (one fell short while the host had
 * CPU to spare: a link backend problem), or nobody.
 */
export function fidelityCause(links: LinkFidelity[], health: EmulationHealth | null): 'host' | 'links' | null {
  const flagged = flaggedLinks(links).length > 0;
  // (without the host's figures a short link cannot be told from a busy host)
  if (!health || health.host.samples === 0) return flagged ? 'host' : null;
  if (healthProblems(health).length) return 'host';
  return flagged ? 'links' : null;
}

/** Links busy long enough whose carried share fell under the threshold. */
export function flaggedLinks(fidelity: LinkFidelity[]): LinkFidelity[] {
  return fidelity.filter((f) => f.busyS >= FIDELITY_MIN_BUSY_S && f.ratio < FIDELITY_THRESHOLD);
}

/** One line per scheduler for the terminal: the busy links' overall share and the worst link, then the host's figures and what was wrong. */
export function fidelityLine(scheduler: string, links: LinkFidelity[], health: EmulationHealth | null, name: (link: number) => string): string {
  if (!health || health.host.samples === 0) return linksLine(scheduler, links, name, true);
  const problems = healthProblems(health);
  return `${linksLine(scheduler, links, name, problems.length > 0)}; ${healthFigures(health)}` +
    (problems.length ? ` -- COMPROMISED: ${problems.join('; ')}: the host could not keep up` : '');
}

function linksLine(scheduler: string, links: LinkFidelity[], name: (link: number) => string, hostShort: boolean): string {
  const busy = links.filter((f) => f.busyS > 0);
  if (busy.length === 0) return `${scheduler}: no link was busy`;
  const carried = busy.reduce((s, f) => s + f.carriedMbps * f.busyS, 0);
  const allowed = busy.reduce((s, f) => s + f.allowedMbps * f.busyS, 0);
  const considered = busy.filter((f) => f.busyS >= FIDELITY_MIN_BUSY_S);
  const worst = considered.reduce<LinkFidelity | null>((w, f) => (w === null || f.ratio < w.ratio ? f : w), null);
  const flagged = flaggedLinks(links);
  return `${scheduler}: busy links carried ${(100 * carried / allowed).toFixed(1)}% of what their traces allowed` +
    (worst ? ` (lowest: ${name(worst.link)} ${(100 * worst.ratio).toFixed(1)}% over ${worst.busyS.toFixed(1)} s)` : '') +
    (flagged.length
      ? ` -- BELOW ${100 * FIDELITY_THRESHOLD}% on ${flagged.map((f) => name(f.link)).join(', ')}: ` +
        (hostShort ? 'the host could not keep up' : 'a link problem (the host had CPU to spare): the link backend did not deliver the trace\'s rate')
      : '');
}
