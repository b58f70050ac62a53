/**
 * A sweep as one Slurm job array: task k of N runs the points whose index
 * is k modulo N, one after another, into the same sweep folder (which the
 * cluster's nodes must share, at the same path). Each task skips points
 * already done and redoes half-written ones, so resubmitting resumes;
 * `geobed sweep status` and `collect` read the folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { PACKAGE_ROOT } from '../util/paths.js';
import { UserError } from '../util/errors.js';
import type { SweepPoint } from './grid.js';
import { pointState, writePlan, type SweepPlan } from './folder.js';

export interface SlurmOptions {
  /** Array tasks (default: one per point not done, at most 1000). */
  tasks?: number;
  partition?: string;
  /** Each task's time limit, as sbatch --time takes it (e.g. 01:00:00). */
  time?: string;
  /** More sbatch options, e.g. --account=x. */
  sbatchArgs?: string[];
}

export const MAX_ARRAY_TASKS = 1000;

/** The points task `task` of `tasks` runs. */
export function taskPoints(plan: SweepPlan, task: number, tasks: number): SweepPoint[] {
  return plan.points.filter((_, i) => i % tasks === task);
}

/** The sbatch script of a sweep's job array. */
export function slurmScript(folder: string, plan: SweepPlan, tasks: number, options: SlurmOptions): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    '#!/bin/sh',
    `#SBATCH --job-name=geobed-${plan.sweep.name}`,
    `#SBATCH --array=0-${tasks - 1}`,
    `#SBATCH --output=${join(folder, 'slurm', 'task-%a.out')}`,
    '#SBATCH --ntasks=1',
    // an emulated run builds namespaces and measures rates: a node of its own
    ...(plan.sweep.mode === 'emu' ? ['#SBATCH --exclusive'] : ['#SBATCH --cpus-per-task=1']),
    ...(options.partition ? [`#SBATCH --partition=${options.partition}`] : []),
    ...(options.time ? [`#SBATCH --time=${options.time}`] : []),
    ...(options.sbatchArgs ?? []).map((a) => `#SBATCH ${a}`),
    `exec ${q(process.execPath)} ${q(join(PACKAGE_ROOT, 'bin', 'geobed.js'))} sweep task ${q(folder)} --task "$SLURM_ARRAY_TASK_ID" --tasks ${tasks}`,
    '',
  ].join('\n');
}

/** Write the script and submit it with sbatch; returns the job id (also kept in the plan). */
export async function submitSweep(folder: string, plan: SweepPlan, options: SlurmOptions): Promise<{ jobId: string; tasks: number; script: string }> {
  const pending = plan.points.filter((p) => pointState(folder, p) !== 'done').length;
  if (pending === 0) throw new UserError(`${folder}: every run is done; nothing to submit (geobed sweep collect ${folder})`);
  const tasks = options.tasks ?? Math.min(pending, MAX_ARRAY_TASKS);
  if (!(Number.isInteger(tasks) && tasks >= 1 && tasks <= MAX_ARRAY_TASKS)) throw new UserError(`--tasks: expected a whole number from 1 to ${MAX_ARRAY_TASKS}, got ${tasks}`);
  mkdirSync(join(folder, 'slurm'), { recursive: true });
  const script = join(folder, 'slurm', 'sweep.sbatch');
  writeFileSync(script, slurmScript(folder, plan, Math.min(tasks, plan.points.length), options), { mode: 0o755 });
  const r = await execa('sbatch', ['--parsable', script], { reject: false });
  if (r.failed) {
    const why = r.code === 'ENOENT' ? 'sbatch is not installed here (Slurm\'s client)' : String(r.stderr || r.stdout || r.shortMessage || '').trim();
    throw new UserError(`--slurm: sbatch ${script} failed: ${why}`, 1);
  }
  const jobId = String(r.stdout).trim().split(';')[0];
  plan.slurm_jobs = [...(plan.slurm_jobs ?? []), jobId];
  writePlan(folder, plan);
  return { jobId, tasks: Math.min(tasks, plan.points.length), script };
}

/** Slurm's word for each of a job's array tasks still known to it (squeue), or null without Slurm. */
export async function jobStates(jobId: string): Promise<string[] | null> {
  const r = await execa('squeue', ['-h', '-r', '-j', jobId, '-o', '%T'], { reject: false });
  if (r.failed) return null;
  return String(r.stdout).split('\n').map((s) => s.trim()).filter(Boolean);
}
