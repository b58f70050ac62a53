/** `geobed run`, `demo` and `summarize`: run a scenario and print its comparison; rebuild a summary. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { readText } from '../util/files.js';
import { MAX_ITERATIONS } from '../model/limits.js';
import { loadScenario } from '../scenario/load.js';
import { SCHEDULER_NAMES } from '../sync/schedulers/index.js';
import { runScenario, type RunRecipe } from '../run/run.js';
import { UserError } from '../util/errors.js';
import { PACKAGE_ROOT } from '../util/paths.js';
import { ProgressBar } from './progress.js';
import { summaryTable, formatTable } from './table.js';
import type { Scenario } from '../scenario/types.js';
import { BACKEND_CHOICES, type BackendChoice } from '../train/choices.js';
import { LINK_BACKENDS, type LinkBackend } from '../run/link-backends.js';
import { MANAGEMENT_MAX_NODES } from '../net/emu/management.js';
import { CONTROL_CHANNELS, type ControlChannel } from '../run/agent-protocol.js';
import { rebuildSummary } from '../results/rebuild.js';
import { DEFAULT_STALL_S } from '../run/watchdog.js';
import { guarded, list } from './common.js';

/** run, demo, summarize */
export function runCommands(y: Argv, command: string[]): Argv {
  return y
    .command(
      'run <scenario>',
      'run a scenario and write results/<run>/',
      (c) => c
        .positional('scenario', { type: 'string', demandOption: true, describe: 'scenario YAML file' })
        .option('mode', { choices: ['sim', 'emu'] as const, default: 'sim' as const, describe: 'simulated or emulated' })
        .option('links', { choices: LINK_BACKENDS, describe: 'emulated links: kernel (htb, netem) or geobed\'s native emulator (default: kernel, or native when links need delay or loss and the kernel has no netem)' })
        .option('control', { choices: CONTROL_CHANNELS, describe: 'emulated: the agents\' control channel, their IPC channels (default) or TCP over an unshaped management network (198.19.128.0/17)' })
        .option('schedulers', { type: 'string', describe: 'comma-separated labels or names to run (default: the scenario\'s)' })
        .option('seed', { type: 'number', describe: 'override the scenario seed' })
        .option('iterations', { type: 'number', describe: 'override the number of iterations' })
        .option('profile', { type: 'string', describe: 'override the model profile (alexnet, resnet50, vgg16); with train, the profile the exchange is padded to' })
        .option('set', { type: 'string', array: true, describe: 'override a scenario field, path=value (YAML), e.g. network.underlay=relay or schedulers.netstorm.roots=3; repeatable' })
        .option('backend', { choices: BACKEND_CHOICES, describe: 'training: the TensorFlow.js backend (default: the best available: tensorflow-gpu, tensorflow, wasm, cpu)' })
        .option('calibration', { type: 'string', describe: 'training, simulated: reuse the compute time of an earlier run (its folder or manifest.json), for byte-identical results' })
        .option('stall-timeout', { type: 'number', describe: `emulated: fail the run after this many seconds without progress, saying what waits on what (default ${DEFAULT_STALL_S})` })
        .option('out', { type: 'string', describe: 'results folder (default results/<scenario>-<profile>-<mode>-<time>-seed<seed>)' }),
      guarded(async (a) => {
        if (a.seed !== undefined && !(Number.isSafeInteger(a.seed) && a.seed >= 0)) throw new UserError(`--seed: expected a whole number >= 0, got ${a.seed}`);
        if (a.iterations !== undefined && !(Number.isInteger(a.iterations) && a.iterations > 0 && a.iterations <= MAX_ITERATIONS)) {
          throw new UserError(`--iterations: expected a whole number from 1 to ${MAX_ITERATIONS}, got ${a.iterations}`);
        }
        const scenario = loadScenario(a.scenario, {
          seed: a.seed, iterations: a.iterations, schedulers: list(a.schedulers), profile: a.profile, set: a.set?.map(String),
        });
        await runAndReport(scenario, command, {
          out: a.out, mode: a.mode, links: a.links, control: a.control, backend: a.backend, calibration: a.calibration, stallTimeout: a['stall-timeout'],
          profile: a.profile,
        });
      }),
    )
    .command(
      'rerun <folder>',
      'run a results folder\'s run again from its manifest (the same scenario, seed and settings); a simulated run comes out byte-identical',
      (c) => c
        .positional('folder', { type: 'string', demandOption: true, describe: 'a results folder' })
        .option('out', { type: 'string', describe: 'the new results folder (default: a new one under results/)' }),
      guarded(async (a) => {
        const { scenario, flags } = rerunOf(String(a.folder));
        await runAndReport(scenario, command, { ...flags, out: a.out });
      }),
    )    .command(
      'demo',
      'run the quickstart scenario with every scheduler and print the comparison',
      (c) => c.option('out', { type: 'string', describe: 'results folder' }),
      guarded(async (a) => {
        const file = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');
        if (!existsSync(file)) throw new UserError(`cannot find ${file}`);
        const scenario = loadScenario(file, { schedulers: [...SCHEDULER_NAMES] });
        await runAndReport(scenario, command, { out: a.out });
      }),
    )    .command(
      'summarize <folder>',
      'rebuild a results folder\'s summary.csv from its iterations (a run killed before it wrote one) and print it',
      (c) => c.positional('folder', { type: 'string', demandOption: true }),
      guarded(async (a) => {
        const rebuilt = await rebuildSummary(a.folder);
        process.stdout.write(`${a.folder}: ${rebuilt.iterations} finished iterations, status ${rebuilt.status}${rebuilt.markedInterrupted ? ' (its process is gone: marked interrupted)' : ''}\n\n`);
        process.stdout.write(`${summaryTable(rebuilt.summary)}\n\nwrote ${join(a.folder, 'summary.csv')}\n`);
      }),
    );
}

interface RunFlags {
  out?: string;
  /** --profile as given (for the manifest's rerun recipe). */
  profile?: string;
  mode?: 'sim' | 'emu';
  links?: LinkBackend;
  control?: ControlChannel;
  backend?: BackendChoice;
  calibration?: string;
  /** The compute time per step itself (rerun), instead of a calibration file. */
  computeS?: number;
  stallTimeout?: number;
}

async function runAndReport(scenario: Scenario, command: string[], flags: RunFlags): Promise<void> {
  const mode = flags.mode ?? 'sim';
  if (flags.links && mode !== 'emu') throw new UserError('--links applies to --mode emu only');
  if (flags.control && mode !== 'emu') throw new UserError('--control applies to --mode emu only (simulated agents share the coordinator\'s process)');
  if (flags.control === 'tcp' && scenario.nodes.length > MANAGEMENT_MAX_NODES) {
    throw new UserError(`--control tcp: a management network addresses at most ${MANAGEMENT_MAX_NODES} nodes; ${scenario.file} has ${scenario.nodes.length} (use --control ipc)`);
  }
  if (flags.stallTimeout !== undefined && mode !== 'emu') throw new UserError('--stall-timeout applies to --mode emu only (the simulator finds stalls in virtual time)');
  if (flags.stallTimeout !== undefined && !(flags.stallTimeout > 0)) throw new UserError(`--stall-timeout: expected seconds > 0, got ${flags.stallTimeout}`);
  if (flags.backend && !scenario.workload.training) throw new UserError('--backend applies to scenarios that train (workload.train)');
  if (flags.calibration !== undefined && !scenario.workload.training) throw new UserError('--calibration applies to scenarios that train (workload.train)');
  const computeS = flags.calibration !== undefined ? readCalibration(flags.calibration) : flags.computeS;
  const bar = new ProgressBar();
  const recipe: RunRecipe = {
    scenario_file: resolve(scenario.file), seed: scenario.seed, iterations: scenario.iterations, schedulers: scenario.schedulers.map((s) => s.label),
    profile: flags.profile ?? null, set: scenario.overrides ?? [], mode, links: flags.links ?? null, control: flags.control ?? null,
  };
  const outcome = await runScenario(scenario, {
    mode, out: flags.out, command, recipe, links: flags.links, control: flags.control, backend: flags.backend, computeS, stallS: flags.stallTimeout,
    onProgress: (label, completed) => bar.update(label, completed, scenario.iterations),
    onNotice: (message) => {
      bar.finish();
      process.stderr.write(`geobed: ${message}\n`);
    },
  }).finally(() => bar.finish());
  process.stdout.write(`${scenario.name}: ${scenario.iterations} iterations of a ${(scenario.workload.totalBytes / 1e6).toFixed(1)} MB model (${scenario.workload.profile}), ${mode === 'emu' ? 'emulated' : 'simulated'}\n\n`);
  process.stdout.write(`${summaryTable(outcome.summary)}\n`);
  const training = scenario.workload.training;
  if (training) {
    const target = `${(training.targetAccuracy * 100).toFixed(0)}%`;
    process.stdout.write(`\ntraining (${outcome.trainingBackend}; accuracy.csv):\n${formatTable(
      ['scheduler', `time to ${target} s`, 'final test accuracy'],
      outcome.summary.map((r) => [r.scheduler, Number.isFinite(r.time_to_accuracy_s) ? r.time_to_accuracy_s.toFixed(2) : 'not reached', `${(r.final_test_accuracy * 100).toFixed(1)}%`]),
    ).replace(/^/gm, '  ')}\n`);
    if (mode === 'sim' && training.computeS === null && computeS === undefined) {
      process.stdout.write(`  compute time calibrated on this machine: ${(outcome.computeS * 1000).toFixed(3)} ms per step; ` +
        `repeat these results byte for byte with --calibration ${join(outcome.dir, 'manifest.json')}\n`);
    }
  }
  if (outcome.fidelity) {
    process.stdout.write(`\nfidelity (carried / allowed while links were busy, fidelity.csv; and the host CPUs):\n${outcome.fidelity.lines.map((l) => `  ${l}\n`).join('')}`);
    if (outcome.fidelity.cause === 'host') {
      process.stderr.write(`geobed: warning: the emulation was compromised, this host could not keep up (${outcome.fidelity.problems.join('; ')}); treat the emulated times with care (manifest.json: fidelity)\n`);
    } else if (outcome.fidelity.cause === 'links') {
      process.stderr.write(`geobed: warning: links carried less than their traces allowed while this host had CPU to spare (${outcome.fidelity.problems.join('; ')}): ` +
        'a problem of the link backend, not of the host; treat the emulated times with care (manifest.json: fidelity)\n');
    }
  }
  process.stdout.write(`\nresults: ${outcome.dir}\n`);
}

/**
 * `geobed rerun`: the scenario and flags of an earlier run, from its
 * manifest's recipe, refused if the scenario or a trace file it read has
 * changed since (the run could not be reproduced). A training run reuses
 * its compute time, as --calibration does.
 */
function rerunOf(folder: string): { scenario: Scenario; flags: RunFlags } {
  const file = join(folder, 'manifest.json');
  let manifest: { rerun?: RunRecipe; scenario?: { sha256?: string; input_files?: { path: string; sha256: string }[] }; training?: { compute_s?: number } };
  try {
    manifest = JSON.parse(readText(file, 'results folder\'s manifest')) as typeof manifest;
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`rerun: ${e.message}`);
    throw new UserError(`rerun: ${file}: not JSON (${(e as Error).message})`);
  }
  const recipe = manifest.rerun;
  if (!recipe) throw new UserError(`rerun: ${file} has no rerun recipe (written by an older geobed, or not by geobed run)`);
  const text = readText(recipe.scenario_file, 'scenario file');
  const sha256 = createHash('sha256').update(text).digest('hex');
  if (sha256 !== manifest.scenario?.sha256) {
    throw new UserError(`rerun: ${recipe.scenario_file} changed since the run (sha256 ${sha256.slice(0, 12)}..., the run's ${String(manifest.scenario?.sha256).slice(0, 12)}...); it would not reproduce it`);
  }
  const scenario = loadScenario(recipe.scenario_file, {
    seed: recipe.seed, iterations: recipe.iterations, schedulers: recipe.schedulers, profile: recipe.profile ?? undefined, set: recipe.set,
  });
  const now = new Map((scenario.inputFiles ?? []).map((f) => [f.path, f.sha256]));
  for (const f of manifest.scenario?.input_files ?? []) {
    if (now.get(f.path) !== f.sha256) throw new UserError(`rerun: the trace file ${f.path} changed since the run (or is gone); it would not reproduce it`);
  }
  const computeS = manifest.training?.compute_s;
  return {
    scenario,
    flags: {
      mode: recipe.mode, links: (recipe.links ?? undefined) as LinkBackend | undefined, control: (recipe.control ?? undefined) as ControlChannel | undefined, profile: recipe.profile ?? undefined,
      ...(scenario.workload.training && recipe.mode === 'sim' && typeof computeS === 'number' ? { computeS } : {}),
    },
  };
}

/**
 * --calibration: the compute time per step of an earlier run, from its
 * manifest.json (or its results folder), so a simulated training run
 * repeats it byte for byte.
 */
function readCalibration(path: string): number {
  const file = existsSync(join(path, 'manifest.json')) ? join(path, 'manifest.json') : path;
  let manifest: { training?: { compute_s?: unknown } };
  try {
    manifest = JSON.parse(readText(file, 'calibration (a results folder\'s manifest.json)')) as typeof manifest;
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`--calibration: ${e.message}`);
    throw new UserError(`--calibration: ${file}: not JSON (${(e as Error).message})`);
  }
  const computeS = manifest.training?.compute_s;
  if (typeof computeS !== 'number' || !(computeS >= 0)) throw new UserError(`--calibration: ${file}: no training.compute_s (expected the manifest.json of a run that trained)`);
  return computeS;
}
