/**
 * Run every scheduler of a scenario and write the results folder. This is
 * the top of the stack: the only place that reads the wall clock.
 */
import { readFileSync } from 'node:fs';
import { cpus, release, platform } from 'node:os';
import { join } from 'node:path';
import type { Scenario, SchedulerConfig } from '../scenario/types.js';
import { scenarioTopology, simulateInSlices, type SchedulerRun } from './simulate.js';
import { namespaceTcp } from './host-tcp.js';
import { emulate } from './emulate.js';
import { chooseLinkBackend, describeLinks, type LinkBackend } from './link-backends.js';
import {
  FIDELITY_THRESHOLD, fidelityCause, fidelityLine, fidelityProblems, HOST_IDLE_MIN, HOST_SATURATED_MAX, PROCESS_BUSY_MIN, type EmulationHealth, type LinkFidelity,
} from '../results/fidelity.js';
import { RunWriter, type SchedulerRecords } from '../results/writer.js';
import { releaseRunFolder, reserveRunFolder } from '../results/folder.js';
import type { RunIdentity, SummaryRow } from '../results/tables.js';
import { UserError } from '../util/errors.js';
import { ScenarioError } from '../scenario/errors.js';
import { layeredCompute } from '../sync/schedulers/index.js';
import { handleStops, stopSignal, StopRequest } from '../util/teardown.js';
import type { BackendChoice } from '../train/choices.js';
import { evaluateSnapshots, prepareData, type TrainingData } from '../train/session.js';
import { gitCommit, packageVersion } from '../util/paths.js';
import { describeGroup, removeLeftovers } from '../net/emu/leftovers.js';
import type { ControlChannel } from './agent-protocol.js';

export interface RunOptions {
  mode: 'sim' | 'emu';
  /** Emulated mode's link backend (default: chosen by chooseLinkBackend). */
  links?: LinkBackend;
  /** Emulated mode's control channel to the agents (default ipc). */
  control?: ControlChannel;
  /** Real training: the TensorFlow.js backend (default: the best available). */
  backend?: BackendChoice;
  /** Real training, simulated: the compute time per step (s) instead of calibrating it (reproducible runs). */
  computeS?: number;
  /** The results folder; default results/<scenario>-<profile>-<mode>-<time>-seed<seed>. */
  out?: string;
  resultsRoot?: string;
  /** Emulated runs: seconds without progress before the run fails as stalled. */
  stallS?: number;
  /** Progress of one scheduler: completed iterations out of the scenario's. */
  onProgress?: (label: string, completed: number) => void;
  /** Things the user should know before the results (removed leftovers, what the simulator ignores). */
  onNotice?: (message: string) => void;
  command?: string[];
  /** What `geobed rerun` needs to repeat the run (the CLI fills it in). */
  recipe?: RunRecipe;
}

/** How a run was asked for: its scenario file and what the command line changed (manifest.json's rerun). */
export interface RunRecipe {
  /** Absolute path. */
  scenario_file: string;
  seed: number;
  iterations: number;
  /** Scheduler labels, in order. */
  schedulers: string[];
  /** --profile, if given. */
  profile: string | null;
  /** --set overrides, in order. */
  set: string[];
  mode: 'sim' | 'emu';
  links: string | null;
  control: string | null;
}

export interface RunOutcome {
  dir: string;
  summary: SummaryRow[];
  runs: SchedulerRun[];
  /**
   * Emulated runs: one fidelity line per scheduler, what compromised the
   * emulation ("scheduler: problem"; none: the host kept up and the links
   * carried their traces), and whose fault: the host's, or (when the host had
   * CPU to spare) the links'.
   */
  fidelity: { lines: string[]; problems: string[]; cause: 'host' | 'links' | null } | null;
  /** Real training: the tfjs backend that ran, and the compute time it used. */
  trainingBackend: string | null;
  computeS: number;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** What tells this run's rows from another run's. */
export function runIdentity(scenario: Scenario, mode: 'sim' | 'emu'): RunIdentity {
  return { scenario: scenario.name, mode, profile: scenario.workload.profile, seed: scenario.seed };
}

/** The default folder name: <scenario>-<profile>-<mode>-<UTC time>-seed<seed> (the profile made file-safe). */
export function defaultRunName(scenario: Scenario, mode: 'sim' | 'emu', at: Date): string {
  const profile = scenario.workload.profile.replace(/[^A-Za-z0-9._-]+/g, '-');
  return `${scenario.name}-${profile}-${mode}-${stamp(at)}-seed${scenario.seed}`;
}

/** What a simulated run leaves out of the scenario, said before it starts. */
export function simulationCaveats(scenario: Scenario): string[] {
  const caveats: string[] = [];
  const lossy = scenario.links.filter((l) => l.lossPercent > 0 || l.lossOverTime);
  if (lossy.length) {
    const names = lossy.slice(0, 4).map((l) => `${l.name} ${l.lossOverTime ? l.lossOverTime.source : `${l.lossPercent}%`}`).join(', ') + (lossy.length > 4 ? `, and ${lossy.length - 4} more` : '');
    caveats.push(`the simulator does not model packet loss: ${names} run as if lossless; use --mode emu for loss`);
  }
  const jittery = scenario.links.filter((l) => l.jitterS > 0);
  if (jittery.length) {
    const names = jittery.slice(0, 4).map((l) => `${l.name} +-${l.jitterS * 1000} ms`).join(', ') + (jittery.length > 4 ? `, and ${jittery.length - 4} more` : '');
    caveats.push(`the simulator does not model jitter: ${names} run with their delay_ms, jitter's mean; use --mode emu for jitter`);
  }
  if (scenario.results.packet_log) caveats.push('results.packet_log applies to emulated runs on the native link emulator; a simulated run writes no packet logs');
  if (scenario.results.pcap) caveats.push('results.pcap applies to emulated runs; a simulated run has no packets to capture');
  return caveats;
}

/**
 * Run every scheduler of the scenario, writing the results folder as it
 * goes. The folder is reserved first; a mistake found before any work
 * (the folder, the host, the training set-up) leaves nothing behind. If a
 * scheduler fails or the run is stopped (Ctrl-C), what finished is kept,
 * the manifest says so, and the error names the scheduler.
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunOutcome> {
  if (options.mode === 'emu' && scenario.workload.training) {
    const layered = scenario.schedulers.find((c) => layeredCompute(c));
    if (layered) {
      throw new ScenarioError(`scheduler ${layered.label}: layered compute (priority: p3) splits a known compute time over the layers; emulated training measures each step as a whole (TensorFlow.js gives no per-layer times): run it simulated, or emulated without train`);
    }
  }
  const startedAt = new Date();
  const folder = reserveRunFolder(options.out, options.resultsRoot ?? 'results', defaultRunName(scenario, options.mode, startedAt));
  // from here a Ctrl-C winds the run down (and removes the folder if nothing finished)
  const released = handleStops();
  let writer: RunWriter;
  let links: LinkBackend | null = null;
  let training: PreparedTraining | null = null;
  try {
    if (options.mode === 'emu') {
      links = await chooseLinkBackend(scenario, options.links);
      const { removed } = await removeLeftovers();
      for (const g of removed) options.onNotice?.(`removed what an earlier run left behind: ${describeGroup(g)}`);
    } else {
      for (const caveat of simulationCaveats(scenario)) options.onNotice?.(`warning: ${caveat}`);
    }
    if (scenario.workload.training) {
      training = await prepareTraining(scenario, options);
      scenario = training.scenario;
    }
    stopSignal.throwIfAborted();
    try {
      writer = new RunWriter(folder, scenario, runIdentity(scenario, options.mode), startManifest(scenario, options, links, training, startedAt), options.mode === 'emu');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw code ? new UserError(`cannot write the results in ${folder.dir} (${code})`) : e;
    }
  } catch (e) {
    released();
    releaseRunFolder(folder);
    throw asUserError(e, null);
  }
  try {
    return await runSchedulers(scenario, options, writer, links, training);
  } finally {
    released();
  }
}

/** A stop request (Ctrl-C) as the error the CLI prints. */
function asUserError(e: unknown, kept: string | null): unknown {
  if (e instanceof StopRequest) return new UserError(`stopped by ${e.signal}${kept ? `; ${kept}` : ''}`, e.exitCode);
  return e;
}

async function runSchedulers(
  scenario: Scenario, options: RunOptions, writer: RunWriter, links: LinkBackend | null, training: PreparedTraining | null,
): Promise<RunOutcome> {
  const runs: SchedulerRun[] = [];
  const fidelity: { scheduler: string; line: string; problems: string[]; cause: 'host' | 'links' | null }[] = [];
  const count = scenario.schedulers.length;
  for (const [index, config] of scenario.schedulers.entries()) {
    const records = writer.scheduler(config);
    const t0 = performance.now();
    try {
      const { run, fidelity: emulated, loopDelayMaxMs, health } = await runOne(scenario, config, options, records, links, training);
      const wall = (performance.now() - t0) / 1000;
      if (run.training && training) {
        // evaluate worker 0's weights at each evaluation point, here, outside the run's timing
        const evaluator = training.data.makeTrainer(null, 'evaluation');
        run.training.accuracy = evaluateSnapshots(run.training.snapshots, evaluator, training.data, scenario.workload.training!.batch * scenario.workers.length);
        run.training.snapshots = [];
        evaluator.dispose();
        records.accuracy(run.training.accuracy);
      }
      if (emulated) {
        records.fidelity(emulated);
        fidelity.push({
          scheduler: config.label,
          line: fidelityLine(config.label, emulated, health ?? null, (id) => scenario.links[id].name),
          problems: fidelityProblems(emulated, health ?? null, (id) => scenario.links[id].name),
          cause: fidelityCause(emulated, health ?? null),
        });
      }
      runs.push(run);
      records.ended(
        {
          wall_s: round(wall), simulated_s: round(run.endTime), messages: run.stats.messages, rate_recomputations: run.stats.recomputations,
          ...(loopDelayMaxMs !== undefined ? { runner_loop_delay_max_ms: round(loopDelayMaxMs) } : {}),
          ...(health ? healthRecord(health, fidelity.at(-1)!.problems) : {}),
        },
        training ? { training: { ...training.manifest, worker_rss_mb: Object.fromEntries(runs.map((r) => [r.label, r.training?.workerRssMb ?? {}])) } } : {},
      );
    } catch (e) {
      records.ended({ wall_s: round((performance.now() - t0) / 1000), failed: true });
      throw endEarly(writer, scenario, config, index, count, e);
    }
  }
  const fidelityRecord = options.mode === 'emu'
    ? {
      fidelity: {
        threshold: FIDELITY_THRESHOLD, host_idle_min: HOST_IDLE_MIN, host_saturated_max: HOST_SATURATED_MAX, process_busy_min: PROCESS_BUSY_MIN,
        flagged: fidelity.some((f) => f.problems.length > 0), schedulers: fidelity.map((f) => f.line),
        problems: Object.fromEntries(fidelity.filter((f) => f.problems.length).map((f) => [f.scheduler, f.problems])),
        causes: Object.fromEntries(fidelity.filter((f) => f.cause).map((f) => [f.scheduler, f.cause])),
      },
    }
    : {};
  const summary = writer.finish('complete', fidelityRecord);
  return {
    dir: writer.dir, summary, runs,
    fidelity: options.mode === 'emu'
      ? {
        lines: fidelity.map((f) => f.line), problems: fidelity.flatMap((f) => f.problems.map((p) => `${f.scheduler}: ${p}`)),
        cause: fidelity.some((f) => f.cause === 'host') ? 'host' : fidelity.some((f) => f.cause === 'links') ? 'links' : null,
      }
      : null,
    trainingBackend: training ? String(training.manifest.tfjs_backend) : null,
    computeS: scenario.workload.computeS,
  };
}

/** An emulated scheduler run's health figures, for the manifest. */
function healthRecord(health: EmulationHealth, problems: string[]): Record<string, unknown> {
  return {
    host_cpu_idle_mean: round(health.host.meanIdle), host_cpu_saturated_share: round(health.host.saturatedShare),
    ...(health.linkEmulator ? {
      link_emulator_core_mean: round(health.linkEmulator.meanCore), link_emulator_busy_share: round(health.linkEmulator.busyShare),
      link_emulator_wait_mean: round(health.linkEmulator.meanWait),
    } : {}),
    agents: Object.fromEntries(health.agents.map((a) => [a.node, {
      ...(a.cpu ? { core_mean: round(a.cpu.meanCore), busy_share: round(a.cpu.busyShare), wait_mean: round(a.cpu.meanWait) } : {}),
      ...(a.loopLagMs ? { loop_lag_p99_ms: a.loopLagMs.p99, loop_lag_max_ms: a.loopLagMs.max } : {}),
    }])),
    fidelity_problems: problems,
  };
}

/** One scheduler, simulated or emulated, its records streamed to the results. */
async function runOne(
  scenario: Scenario, config: SchedulerConfig, options: RunOptions, records: SchedulerRecords, links: LinkBackend | null, training: PreparedTraining | null,
): Promise<{ run: SchedulerRun; fidelity: LinkFidelity[] | null; loopDelayMaxMs?: number; health?: EmulationHealth }> {
  const onProgress = (completed: number) => options.onProgress?.(config.label, completed);
  if (options.mode === 'emu') {
    const packetLogDir = scenario.results.packet_log ? join(records.dir, 'packets', config.label) : undefined;
    const captureDir = scenario.results.pcap ? join(records.dir, 'pcap', config.label) : undefined;
    const run = await emulate(scenario, config, {
      onProgress, links: links!, control: options.control, packetLogDir, captureDir, trainingData: training?.data, backend: options.backend, sink: records, signal: stopSignal, stallS: options.stallS,
    });
    return { run, fidelity: run.fidelity, loopDelayMaxMs: run.loopDelayMaxMs, health: run.health };
  }
  return { run: await simulateInSlices(scenario, config, { onProgress, trainingData: training?.data, sink: records, signal: stopSignal }), fidelity: null };
}

/**
 * A scheduler failed or the run was stopped: keep what finished (summary
 * and manifest say how far it got), or remove the folder when nothing did,
 * and return the error to report, naming the scheduler.
 */
function endEarly(writer: RunWriter, scenario: Scenario, config: SchedulerConfig, index: number, count: number, e: unknown): unknown {
  const stopped = e instanceof StopRequest;
  const cause = e instanceof Error ? e.message : String(e);
  const finished = writer.finishedIterations;
  const status = stopped ? 'interrupted' : 'failed';
  let kept: string;
  if (finished === 0) {
    try {
      writer.finish(status, {}, cause); // (closes its files)
    } catch {
      // removed next anyway
    }
    releaseRunFolder(writer.folder);
    kept = 'no iteration had finished, so no results were kept';
  } else {
    kept = `kept the ${finished} finished iteration(s) in ${writer.dir} (manifest status ${status})`;
    try {
      writer.finish(status, {}, cause);
    } catch (f) {
      // (the disk filled up, say): the rows written so far stay; geobed summarize can finish the job
      kept = `kept the rows written in ${writer.dir}, but could not write its summary (${(f as NodeJS.ErrnoException).code ?? (f as Error).message}); geobed summarize ${writer.dir} rebuilds it`;
    }
  }
  if (stopped) return asUserError(e, kept);
  const where = `${scenario.name}: scheduler ${config.label} (${index + 1} of ${count})`;
  if (e instanceof UserError) return new UserError(`${where}: ${cause}\n${kept}`, e.exitCode);
  // a bug: keep its stack trace, say where it struck and what was kept
  if (e instanceof Error) e.message = `${where}: ${e.message} (${kept})`;
  return e;
}

function startManifest(
  scenario: Scenario, options: RunOptions, links: LinkBackend | null, training: PreparedTraining | null, startedAt: Date,
): Record<string, unknown> {
  return {
    geobed: packageVersion(),
    ...(gitCommit() ? { git: gitCommit() } : {}),
    mode: options.mode,
    identity: runIdentity(scenario, options.mode),
    backends: {
      network: options.mode === 'emu'
        ? describeLinks(links!, scenario)
        : 'flow-level simulator (max-min fair, virtual time)',
      ...(options.mode === 'emu' ? { control: options.control === 'tcp' ? 'tcp over a management network (one unshaped veth per namespace)' : 'ipc (each agent process\'s Node IPC channel)' } : {}),
      compute: training ? training.description : 'synthetic profile',
    },
    ...(training ? { training: training.manifest } : {}),
    scenario: {
      name: scenario.name, file: scenario.file, sha256: scenario.hash, ...(scenario.overrides?.length ? { overrides: scenario.overrides } : {}),
      input_files: scenario.inputFiles ?? [],
      seed: scenario.seed, iterations: scenario.iterations,
      nodes: scenario.nodes.length, workers: scenario.workers.length, directed_links: scenario.links.length,
    },
    workload: {
      profile: scenario.workload.profile, gradient_bytes: scenario.workload.totalBytes,
      arrays: scenario.workload.arrays.length, compute_s: scenario.workload.computeS,
    },
    schedulers: scenario.schedulers,
    links: scenario.links.slice(0, 10_000).map((l) => ({
      link: l.name, rate: l.rateSource, delay_ms: l.delayOverTime ? l.delayOverTime.source : l.delayS * 1000, jitter_ms: l.jitterS * 1000, reorder: l.reorder,
      loss_percent: l.lossOverTime ? l.lossOverTime.source : l.lossPercent, queue_packets: l.queuePackets,
    })),
    ...(scenario.links.length > 10_000 ? { links_omitted: scenario.links.length - 10_000 } : {}),
    ...(options.mode === 'sim' && simulationCaveats(scenario).length ? { warnings: simulationCaveats(scenario) } : {}),
    host: {
      node: process.version, platform: platform(), kernel: release(), cpus: cpus().length,
      ...(options.mode === 'emu' ? { tcp_congestion_control: tcpCongestionControl() } : {}),
    },
    ...(options.mode === 'emu' ? { emulated_hosts: emulatedHostsTcp(scenario) } : {}),
    owner: { pid: process.pid },
    command: options.command ?? [],
    ...(options.recipe ? { rerun: options.recipe } : {}),
    started_at: startedAt.toISOString(),
  };
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
  let computeS = options.computeS ?? training.computeS;
  let computeSource = options.computeS !== undefined ? 'given with --calibration' : 'the scenario\'s compute_ms';
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

/** What every emulated host's TCP was set to (scenario network.tcp). */
function emulatedHostsTcp(scenario: Scenario): object {
  const tcp = namespaceTcp(scenario, scenarioTopology(scenario));
  return {
    tcp_congestion_control: tcp.congestion,
    tcp_buffer_max_bytes: tcp.bufferBytes ?? 'host',
    tcp_slow_start_after_idle: tcp.slowStartAfterIdle,
    largest_bdp_bytes: tcp.largestBdpBytes,
  };
}

/** The host's own TCP congestion control (the emulated hosts get network.tcp.congestion on their routes). */
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
