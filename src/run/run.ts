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
import type { BackendChoice } from '../train/choices.js';
import { evaluateSnapshots, prepareData, type TrainingData } from '../train/session.js';
import { packageVersion } from '../util/paths.js';

export interface RunOptions {
  mode: 'sim' | 'emu';
  /** Emulated mode's link backend (default: chosen by checkEmulable). */
  links?: LinkBackend;
  /** Real training: the TensorFlow.js backend (default: the best available). */
  backend?: BackendChoice;
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
  /** Real training: the tfjs backend that ran. */
  trainingBackend: string | null;
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
  const training = scenario.workload.training ? await prepareTraining(scenario, options) : null;
  if (training) scenario = training.scenario;
  // Per-packet logs are written by the emulator as the run goes, here, and moved into the results at the end.
  const packetLogs = options.mode === 'emu' && scenario.results.packet_log ? mkdtempSync(join(tmpdir(), 'geobed-packets-')) : null;
  const removeLogs = async () => {
    if (packetLogs) rmSync(packetLogs, { recursive: true, force: true });
  };
  const unregister = packetLogs ? onTeardown(removeLogs) : () => undefined; // also on Ctrl-C
  try {
    return await runAndWrite(scenario, options, { startedAt, dir, links, packetLogs, training });
  } finally {
    unregister();
    await removeLogs();
  }
}

async function runAndWrite(
  scenario: Scenario, options: RunOptions,
  { startedAt, dir, links, packetLogs, training }: {
    startedAt: Date; dir: string; links: LinkBackend | null; packetLogs: string | null; training: PreparedTraining | null;
  },
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
      const emulated = await emulate(scenario, config, { onProgress, links: links!, packetLogDir, trainingData: training?.data, backend: options.backend });
      emulation.rateChanges.push(...emulated.rateChanges.map((c) => ({ scheduler: config.label, ...c })));
      emulation.fidelity.push({ scheduler: config.label, links: emulated.fidelity });
      run = emulated;
    } else {
      run = simulate(scenario, config, { onProgress, trainingData: training?.data });
    }
    const wall = (performance.now() - t0) / 1000;
    if (run.training && training) {
      // evaluate worker 0's weights at each evaluation point, here, outside the run's timing
      const evaluator = training.data.makeTrainer(null, 'evaluation');
      run.training.accuracy = evaluateSnapshots(run.training.snapshots, evaluator, training.data, scenario.workload.training!.batch * scenario.workers.length);
      run.training.snapshots = [];
      evaluator.dispose();
    }
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
      compute: training ? training.description : 'synthetic profile',
    },
    ...(training ? { training: { ...training.manifest, worker_rss_mb: Object.fromEntries(runs.map((r) => [r.label, r.training?.workerRssMb ?? {}])) } } : {}),
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
  return { dir, summary, runs, fidelity, trainingBackend: training ? String(training.manifest.tfjs_backend) : null };
}

interface PreparedTraining {
  /** The scenario with its compute time set (calibrated, in simulated mode). */
  scenario: Scenario;
  data: TrainingData;
  description: string;
  manifest: Record<string, unknown>;
}

/**
 * Real training: start the tfjs backend, load and split the data once, and
 * in simulated mode time the real model on this machine for the compute
 * time (unless the scenario gives compute_ms).
 */
async function prepareTraining(scenario: Scenario, options: RunOptions): Promise<PreparedTraining> {
  const training = scenario.workload.training!;
  // TensorFlow.js loads only when a run trains (it adds half a second to every start)
  const { initBackend } = await import('../train/backend.js');
  const { trainerFor, calibrateComputeS } = await import('../train/trainer.js');
  const backend = await initBackend(options.backend);
  const data = prepareData(training, scenario.seed, scenario.workers.length, (shard, label) => trainerFor(training, scenario.seed, shard, label));
  let computeS = training.computeS;
  let computeSource = 'the scenario\'s compute_ms';
  if (computeS === null) {
    computeS = calibrateComputeS(training, data.shards[0], scenario.seed);
    computeSource = 'calibrated: median of 10 real steps (gradient and optimizer step) of one worker alone on this machine';
  }
  // emulated workers train for real: their compute time is what each step took (iterations.csv), the figure above only feeds the lower bound
  if (options.mode === 'emu') computeSource = `real: each worker process trains in its namespace (bound_s uses ${computeSource.split(':')[0]} ${(computeS * 1000).toFixed(1)} ms)`;
  const padded = training.padProfile
    ? `, exchanged as the ${training.padProfile} profile's arrays (${(scenario.workload.totalBytes / 1e6).toFixed(1)} MB; the model's real gradient fills the first ${training.modelElements} elements, the rest is padding)`
    : '';
  return {
    scenario: { ...scenario, workload: { ...scenario.workload, computeS } },
    data,
    description: `TensorFlow.js, ${backend.description}: ${training.model} (${training.modelElements} parameters)${padded}`,
    manifest: {
      tfjs_backend: backend.description, model: training.model, parameters: training.modelElements,
      exchanged: training.padProfile ? `padded to ${training.padProfile}` : 'the model\'s gradient', exchanged_bytes: scenario.workload.totalBytes,
      dataset: data.source, train_samples: data.train.size, test_samples: data.test.size, train_eval_samples: data.trainEval.size,
      shard_samples: data.shards.map((s) => s.size),
      optimizer: training.optimizer.name, learning_rate: training.optimizer.learningRate, batch_per_worker: training.batch,
      preset: training.preset, eval_every: training.evalEvery, target_accuracy: training.targetAccuracy,
      update: 'every worker applies the averaged gradient (sum over workers / workers) with its own optimizer; the weights are checked identical after every step',
      compute_s: computeS, compute_source: computeSource,
    },
  };
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
