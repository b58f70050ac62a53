/**
 * Run every scheduler of a scenario and write the results folder. This is
 * the top of the stack: the only place that reads the wall clock.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario } from '../scenario/types.js';
import { simulate, type SchedulerRun } from './simulate.js';
import { checkEmulable, emulate, type LinkBackend } from './emulate.js';
import { FIDELITY_THRESHOLD, fidelityLine, flaggedLinks } from '../results/fidelity.js';
import { writeResults, type EmulationRecords, type SummaryRow } from '../results/write.js';
import { UserError } from '../util/errors.js';
import { onTeardown } from '../net/emu/cleanup.js';
import { packageVersion } from '../util/paths.js';

export interface RunOptions {
  mode: 'sim' | 'emu';
  /** Emulated mode's link backend (default: chosen by checkEmulable). */
  links?: LinkBackend;
  /** The results folder; default results/<scenario>-<time>-seed<seed>. */
  out?: string;
  resultsRoot?: string;
  /** Progress of one scheduler: completed iterations out of the scenario's. */
  onProgress?: (label: string, completed: number) => void;
  command?: string[];
}

export interface RunOutcome {
  dir: string;
  summary: SummaryRow[];
  runs: SchedulerRun[];
  /** Emulated runs: one fidelity line per scheduler, and whether any link fell behind. */
  fidelity: { lines: string[]; flagged: boolean } | null;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

export function defaultRunDir(scenario: Scenario, root: string, at: Date): string {
  const base = join(root, `${scenario.name}-${stamp(at)}-seed${scenario.seed}`);
  let dir = base;
  for (let k = 2; existsSync(dir) || existsSync(`${dir}.partial`); k++) dir = `${base}-${k}`;
  return dir;
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunOutcome> {
  const startedAt = new Date();
  const dir = options.out ?? defaultRunDir(scenario, options.resultsRoot ?? 'results', startedAt);
  if (existsSync(dir)) throw new UserError(`--out: ${dir} already exists; choose a new folder`);
  const links = options.mode === 'emu' ? await checkEmulable(scenario, options.links) : null;
  // Per-packet logs are written by the emulator as the run goes, here, and moved into the results at the end.
  const packetLogs = options.mode === 'emu' && scenario.results.packet_log ? mkdtempSync(join(tmpdir(), 'geobed-packets-')) : null;
  const removeLogs = async () => {
    if (packetLogs) rmSync(packetLogs, { recursive: true, force: true });
  };
  const unregister = packetLogs ? onTeardown(removeLogs) : () => undefined; // also on Ctrl-C
  try {
    return await runAndWrite(scenario, options, { startedAt, dir, links, packetLogs });
  } finally {
    unregister();
    await removeLogs();
  }
}

async function runAndWrite(
  scenario: Scenario, options: RunOptions,
  { startedAt, dir, links, packetLogs }: { startedAt: Date; dir: string; links: LinkBackend | null; packetLogs: string | null },
): Promise<RunOutcome> {
  const runs: SchedulerRun[] = [];
  const stats: Record<string, unknown>[] = [];
  const emulation: EmulationRecords = { rateChanges: [], fidelity: [], packetLogs };
  for (const config of scenario.schedulers) {
    const t0 = performance.now();
    const onProgress = (completed: number) => options.onProgress?.(config.label, completed);
    let run: SchedulerRun;
    if (options.mode === 'emu') {
      const packetLogDir = packetLogs ? join(packetLogs, fileSafe(config.label)) : undefined;
      const emulated = await emulate(scenario, config, { onProgress, links: links!, packetLogDir });
      emulation.rateChanges.push(...emulated.rateChanges.map((c) => ({ scheduler: config.label, ...c })));
      emulation.fidelity.push({ scheduler: config.label, links: emulated.fidelity });
      run = emulated;
    } else {
      run = simulate(scenario, config, { onProgress });
    }
    const wall = (performance.now() - t0) / 1000;
    runs.push(run);
    stats.push({
      scheduler: config.label, wall_s: round(wall), simulated_s: round(run.endTime),
      messages: run.stats.messages, rate_recomputations: run.stats.recomputations,
    });
  }
  const fidelity = options.mode === 'emu'
    ? {
        lines: emulation.fidelity.map((f) => fidelityLine(f.scheduler, f.links, (id) => scenario.links[id].name)),
        flagged: emulation.fidelity.some((f) => flaggedLinks(f.links).length > 0),
      }
    : null;
  const finishedAt = new Date();
  const manifest = {
    geobed: packageVersion(),
    mode: options.mode,
    backends: {
      network: options.mode === 'emu'
        ? links === 'native'
          ? 'emulated: a network namespace per node, links carried by geobed\'s native link emulator (TUN), real TCP, wall-clock time'
          : `emulated: a network namespace per node, veth links shaped by htb (${scenario.network.queueing} queueing), real TCP, wall-clock time`
        : 'flow-level simulator (max-min fair, virtual time)',
      compute: 'synthetic profile',
    },
    scenario: {
      name: scenario.name, file: scenario.file, sha256: scenario.hash, seed: scenario.seed, iterations: scenario.iterations,
      nodes: scenario.nodes.length, workers: scenario.workers.length, directed_links: scenario.links.length,
    },
    workload: {
      profile: scenario.workload.profile, gradient_bytes: scenario.workload.totalBytes,
      arrays: scenario.workload.arrays.length, compute_s: scenario.workload.computeS,
    },
    schedulers: scenario.schedulers,
    links: scenario.links.map((l) => ({
      link: l.name, rate: l.rateSource, delay_ms: l.delayS * 1000, jitter_ms: l.jitterS * 1000, reorder: l.reorder,
      loss_percent: l.lossPercent, queue_packets: l.queuePackets,
    })),
    runs: stats,
    ...(fidelity ? { fidelity: { threshold: FIDELITY_THRESHOLD, flagged: fidelity.flagged, schedulers: fidelity.lines } } : {}),
    host: {
      node: process.version, platform: platform(), kernel: release(), cpus: cpus().length,
      ...(options.mode === 'emu' ? { tcp_congestion_control: tcpCongestionControl() } : {}),
    },
    command: options.command ?? [],
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
  };
  const { summary } = writeResults(dir, scenario, runs, manifest, options.mode === 'emu' ? emulation : null);
  return { dir, summary, runs, fidelity };
}

/** A scheduler label as a folder name. */
export function fileSafe(label: string): string {
  return label.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The host's TCP congestion control, which the run's namespaces inherit. */
function tcpCongestionControl(): string {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
