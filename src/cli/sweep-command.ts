/**
 * `geobed sweep <sweep.yaml>`: run a grid of runs locally (simulated ones
 * in parallel) or as a Slurm job array; `geobed sweep status|collect
 * <folder>`: progress and the combined tables; `geobed sweep task`: what
 * one Slurm array task runs.
 */
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync, rmSync } from 'node:fs';
import { succeeds } from '../net/emu/exec.js';
import type { Argv } from 'yargs';
import { UserError } from '../util/errors.js';
import { readText } from '../util/files.js';
import { loadSweep } from '../sweep/spec.js';
import { expandGrid } from '../sweep/grid.js';
import { openSweepFolder, pointState, readPlan, type SweepPlan } from '../sweep/folder.js';
import { executePoints, type Progress } from '../sweep/execute.js';
import { collectSweep, tablesUpToDate } from '../sweep/collect.js';
import { StopRequest } from '../util/teardown.js';
import { jobStates, submitSweep, taskPoints } from '../sweep/slurm.js';
import { ProgressBar } from './progress.js';
import { guarded } from './common.js';

const SUBCOMMANDS = ['status', 'collect', 'task'];

export function sweepCommand(y: Argv): Argv {
  return y.command(
    'sweep <what> [folder]',
    'run a sweep file\'s grid (scenarios x schedulers x parameters x seeds) into one folder; or: sweep status|collect <folder>',
    (c) => c
      .positional('what', { type: 'string', demandOption: true, describe: 'a sweep file (YAML), or status | collect with a sweep folder' })
      .positional('folder', { type: 'string', describe: 'the sweep folder (status, collect)' })
      .option('out', { type: 'string', describe: 'the sweep folder (default results/sweep-<name>; the same folder again resumes)' })
      .option('jobs', { type: 'number', describe: `simulated runs at a time (default: the CPUs, here ${cpus().length}); emulated runs go one at a time` })
      .option('slurm', { type: 'boolean', describe: 'submit the grid as one Slurm job array (sbatch) instead of running it here' })
      .option('partition', { type: 'string', describe: 'with --slurm: the partition' })
      .option('time', { type: 'string', describe: 'with --slurm: each array task\'s time limit (e.g. 02:00:00)' })
      .option('tasks', { type: 'number', describe: 'with --slurm: array tasks (default: one per run, at most 1000); task k runs the points k, k + tasks, ...' })
      .option('sbatch-arg', { type: 'string', array: true, describe: 'with --slurm: another sbatch option, e.g. --account=me; repeatable' })
      .option('task', { type: 'number', hidden: true })
      .example('geobed sweep sweeps/quickstart-seeds.yaml --jobs 2', 'simulate the grid here, two runs at a time')
      .example('geobed sweep status results/sweep-quickstart-seeds', 'how far it got')
      .example('geobed sweep collect results/sweep-quickstart-seeds', 'rebuild the combined CSVs'),
    guarded(async (a) => {
      const what = String(a.what);
      if (SUBCOMMANDS.includes(what)) {
        if (!a.folder) throw new UserError(`sweep ${what}: name the sweep folder`);
        const folder = resolve(a.folder);
        const plan = readPlan(folder);
        if (what === 'status') return await status(folder, plan);
        if (what === 'collect') return await collect(folder, plan);
        return await task(folder, plan, a.task, a.tasks);
      }
      if (a.folder !== undefined) throw new UserError(`sweep ${what}: unexpected ${a.folder} (the folder is --out)`);
      await sweep(what, a);
    }),
  );
}

interface SweepFlags {
  out?: string;
  jobs?: number;
  slurm?: boolean;
  partition?: string;
  time?: string;
  tasks?: number;
  'sbatch-arg'?: string[];
}

async function sweep(file: string, a: SweepFlags): Promise<void> {
  if (a.jobs !== undefined && !(Number.isInteger(a.jobs) && a.jobs >= 1)) throw new UserError(`--jobs: expected a whole number >= 1, got ${a.jobs}`);
  if (!a.slurm) for (const flag of ['partition', 'time', 'tasks', 'sbatch-arg'] as const) if (a[flag] !== undefined) throw new UserError(`--${flag} applies with --slurm only`);
  const spec = loadSweep(file);
  const notes: string[] = [];
  const points = expandGrid(spec, notes);
  if (spec.mode === 'emu' && a.jobs !== undefined && a.jobs > 1) throw new UserError('--jobs: emulated runs go one at a time (they share the host\'s network and CPUs)');
  const folder = resolve(a.out ?? join('results', `sweep-${spec.name}`));
  // (before the folder is made: a sweep that cannot be submitted leaves nothing)
  if (a.slurm && !(await succeeds('sbatch', ['--version']))) {
    throw new UserError('--slurm: sbatch is not installed here (Slurm\'s client; Debian: apt-get install slurm-client), or not on the PATH; run without --slurm to sweep on this host');
  }
  const { plan, resumed } = openSweepFolder(folder, spec, readText(file, 'sweep file'), points);
  const done = plan.points.filter((p) => pointState(folder, p) === 'done').length;
  process.stdout.write(`${spec.name}: ${points.length} runs (${spec.scenarios.length} scenario(s) x ${spec.parameters.map((p) => `${p.values.length} ${p.path}`).concat(`${spec.seeds.length} seed(s)`).join(' x ')}, every scheduler), ${spec.mode === 'emu' ? 'emulated' : 'simulated'}` +
    `${resumed ? `; resuming: ${done} done` : ''}\n`);
  for (const n of notes) process.stderr.write(`geobed: note: ${n}\n`);
  if (a.slurm) {
    let submitted;
    try {
      submitted = await submitSweep(folder, plan, { tasks: a.tasks, partition: a.partition, time: a.time, sbatchArgs: a['sbatch-arg'] });
    } catch (e) {
      if (!resumed) rmSync(folder, { recursive: true, force: true }); // (a new sweep that was never submitted leaves nothing)
      throw e;
    }
    const { jobId, tasks, script } = submitted;
    process.stdout.write(`submitted Slurm job ${jobId}: ${tasks} array task(s) (${script})\nfollow it with: geobed sweep status ${folder}\nthen: geobed sweep collect ${folder}\n`);
    return;
  }
  const jobs = spec.mode === 'emu' ? 1 : a.jobs ?? cpus().length;
  const outcome = await runWithProgress(folder, plan, plan.points, jobs, spec.name);
  await finish(folder, plan, outcome);
}

async function runWithProgress(folder: string, plan: SweepPlan, points: SweepPlan['points'], jobs: number, label: string) {
  const bar = new ProgressBar(process.stderr);
  try {
    return await executePoints(folder, plan, points, jobs, (p: Progress) => bar.update(label, p.done, p.total, 'runs', note(p)));
  } finally {
    bar.finish();
  }
}

function note(p: Progress): string {
  const parts = [`${p.running} running`];
  if (p.failed) parts.push(`${p.failed} failed`);
  if (p.leftS !== null) parts.push(`about ${formatDuration(p.leftS)} left`);
  return parts.join(', ');
}

export function formatDuration(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** The combined tables; a stop while they are written says so (the runs are kept, collect writes them). */
async function collectOrSay(folder: string, plan: SweepPlan): Promise<Awaited<ReturnType<typeof collectSweep>>> {
  try {
    return await collectSweep(folder, plan);
  } catch (e) {
    if (!(e instanceof StopRequest)) throw e;
    throw new UserError(`stopped by ${e.signal} while writing the sweep's combined tables; every finished run is kept, and geobed sweep collect ${folder} writes the tables`, e.exitCode);
  }
}

async function finish(folder: string, plan: SweepPlan, outcome: Awaited<ReturnType<typeof executePoints>>): Promise<void> {
  if (outcome.stopped) {
    // stopped: no tables now (status says they are not written); resuming writes them
    const left = plan.points.filter((p) => pointState(folder, p) !== 'done').length;
    for (const f of outcome.failed) process.stderr.write(`geobed: ${f.point.id} failed (exit ${f.exit}); its output: ${f.log}\n`);
    throw new UserError(`sweep stopped; ${left} run(s) left; the same command resumes it and writes the combined tables`, 130);
  }
  const collected = await collectOrSay(folder, plan);
  process.stdout.write(`${outcome.ran} run(s) here, ${outcome.skipped} already done; ${collected.runs} of ${plan.points.length} finished\n`);
  for (const [file, rows] of collected.tables) process.stdout.write(`  ${join(folder, file)}: ${rows} rows\n`);
  for (const f of outcome.failed) process.stderr.write(`geobed: ${f.point.id} failed (exit ${f.exit}); its output: ${f.log}\n`);
  if (outcome.failed.length) throw new UserError(`${outcome.failed.length} run(s) failed; the same command runs them again`, 1);
}

async function status(folder: string, plan: SweepPlan): Promise<void> {
  const states = plan.points.map((p) => pointState(folder, p));
  const count = (s: string) => states.filter((x) => x === s).length;
  process.stdout.write(`${plan.sweep.name} (${folder}): ${count('done')} of ${plan.points.length} runs done, ${count('partial')} started or stopped, ${count('pending')} not started\n`);
  if (count('done') > 0) {
    process.stdout.write(tablesUpToDate(folder, plan)
      ? `combined tables: written, with every finished run\n`
      : `combined tables: not written, or missing runs finished since (a collection stopped, or runs still going); geobed sweep collect ${folder} writes them\n`);
  }
  for (const job of plan.slurm_jobs ?? []) {
    const states = await jobStates(job);
    if (states === null) process.stdout.write(`Slurm job ${job}: squeue not available here\n`);
    else if (states.length === 0) process.stdout.write(`Slurm job ${job}: no tasks left in the queue\n`);
    else {
      const byState = new Map<string, number>();
      for (const s of states) byState.set(s, (byState.get(s) ?? 0) + 1);
      process.stdout.write(`Slurm job ${job}: ${[...byState].map(([s, n]) => `${n} ${s.toLowerCase()}`).join(', ')}\n`);
    }
  }
}

async function collect(folder: string, plan: SweepPlan): Promise<void> {
  const collected = await collectOrSay(folder, plan);
  process.stdout.write(`${plan.sweep.name}: combined ${collected.runs} finished run(s)${collected.missing ? ` (${collected.missing} not finished: geobed sweep status ${folder})` : ''}\n`);
  for (const [file, rows] of collected.tables) process.stdout.write(`  ${join(folder, file)}: ${rows} rows\n`);
}

/** One Slurm array task: its share of the points, one at a time. */
async function task(folder: string, plan: SweepPlan, k: number | undefined, tasks: number | undefined): Promise<void> {
  if (!(Number.isInteger(k) && Number.isInteger(tasks) && tasks! >= 1 && k! >= 0 && k! < tasks!)) throw new UserError('sweep task: expected --task K --tasks N with 0 <= K < N');
  if (!existsSync(folder)) throw new UserError(`sweep task: ${folder} is not reachable from this node (the sweep folder must be on a shared filesystem)`);
  const outcome = await runWithProgress(folder, plan, taskPoints(plan, k!, tasks!), 1, `${plan.sweep.name} task ${k}`);
  process.stdout.write(`task ${k} of ${tasks}: ${outcome.ran} run(s), ${outcome.skipped} already done, ${outcome.failed.length} failed\n`);
  for (const f of outcome.failed) process.stderr.write(`geobed: ${f.point.id} failed (exit ${f.exit}); its output: ${f.log}\n`);
  if (outcome.stopped) throw new UserError('task stopped; resubmitting the sweep resumes it', 130);
  if (outcome.failed.length) throw new UserError(`${outcome.failed.length} run(s) failed`, 1);
}
