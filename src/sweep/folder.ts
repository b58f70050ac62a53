/**
 * A sweep folder: sweep.json (the plan: the sweep file's text and hash, and
 * every grid point), points.csv (the grid, one row per run), runs/<id>/
 * (each point's results folder, as `geobed run --out` writes it), logs/
 * (each run's output) and the combined tables (collect.ts). A point is done
 * when its run's manifest says complete; a run folder in any other state is
 * half-written and is redone.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../util/errors.js';
import { packageVersion } from '../util/paths.js';
import type { Sweep } from './spec.js';
import type { SweepPoint } from './grid.js';

export const PLAN_FILE = 'sweep.json';

export interface SweepPlan {
  geobed: string;
  sweep: Sweep;
  /** The sweep file as it was when the sweep began. */
  sweep_text: string;
  points: SweepPoint[];
  created_at: string;
  /** Slurm job ids this sweep was submitted as (sweep --slurm). */
  slurm_jobs?: string[];
}

export const runDir = (folder: string, point: SweepPoint) => join(folder, 'runs', point.id);
export const logFile = (folder: string, point: SweepPoint) => join(folder, 'logs', `${point.id}.log`);

/** The grid columns every combined table starts with: the point, then each parameter path. */
export function gridColumns(plan: SweepPlan): string[] {
  return ['point', ...plan.sweep.parameters.map((p) => p.path)];
}

export function gridValues(plan: SweepPlan, point: SweepPoint): string[] {
  return [point.id, ...plan.sweep.parameters.map((p) => point.params[p.path])];
}

export function readPlan(folder: string): SweepPlan {
  const file = join(folder, PLAN_FILE);
  if (!existsSync(file)) throw new UserError(`${folder}: not a sweep folder (no ${PLAN_FILE})`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SweepPlan;
  } catch (e) {
    throw new UserError(`${file}: not JSON (${(e as Error).message})`);
  }
}

export function writePlan(folder: string, plan: SweepPlan): void {
  // whole or not at all: a sweep stopped while writing keeps its last plan
  const tmp = join(folder, `${PLAN_FILE}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(plan, null, 2)}\n`);
  renameSync(tmp, join(folder, PLAN_FILE));
}

/** What the same sweep asks for, compared point by point (the plan's identity). */
function samePoints(a: SweepPoint[], b: SweepPoint[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Open the sweep's folder: a new one is created with its plan; an existing
 * one must hold the same sweep (then it resumes), else it is refused.
 */
export function openSweepFolder(folder: string, sweep: Sweep, text: string, points: SweepPoint[]): { plan: SweepPlan; resumed: boolean } {
  if (existsSync(join(folder, PLAN_FILE))) {
    const plan = readPlan(folder);
    if (!samePoints(plan.points, points)) {
      throw new UserError(`${folder} holds another sweep (${plan.sweep.name}, ${plan.points.length} runs; its grid differs from ${sweep.file}'s); choose another folder with --out`);
    }
    return { plan, resumed: true };
  }
  if (existsSync(folder) && readdirSync(folder).length > 0) throw new UserError(`--out: ${folder} exists and is not a sweep folder; choose another`);
  mkdirSync(join(folder, 'runs'), { recursive: true });
  mkdirSync(join(folder, 'logs'), { recursive: true });
  const plan: SweepPlan = { geobed: packageVersion(), sweep, sweep_text: text, points, created_at: new Date().toISOString() };
  writePlan(folder, plan);
  writeFileSync(join(folder, 'points.csv'), stringify([
    [...gridColumns(plan), 'scenario', 'scheduler', 'seed', 'run'],
    ...points.map((p) => [...gridValues(plan, p), p.scenario, p.scheduler, p.seed, join('runs', p.id)]),
  ]));
  return { plan, resumed: false };
}

export type PointState = 'done' | 'partial' | 'pending';

/** done: its run completed; partial: a run folder in any other state (stopped, failed, half-written); pending: none. */
export function pointState(folder: string, point: SweepPoint): PointState {
  const dir = runDir(folder, point);
  if (!existsSync(dir)) return 'pending';
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { status?: string };
    return manifest.status === 'complete' ? 'done' : 'partial';
  } catch {
    return 'partial';
  }
}

/** Remove a half-written run so the point runs again from the start. */
export function clearPoint(folder: string, point: SweepPoint): void {
  rmSync(runDir(folder, point), { recursive: true, force: true });
}
