/**
 * What the report commands read: results folders (one run) and sweep
 * folders (sweep.json and runs/<point>/), each run with its manifest and
 * the grid parameters it ran with ({} for a plain run).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UserError } from '../util/errors.js';
import { readTableBytes, tablePath } from '../results/table-files.js';

export interface RunFolderInfo {
  dir: string;
  manifest: Record<string, unknown> & { status?: string; identity?: { scenario: string; mode: string; profile: string; seed: number } };
  /** Grid parameter path -> value, for a sweep's run. */
  params: Record<string, string>;
}

export interface Folders {
  runs: RunFolderInfo[];
  /** The grid parameters' paths, in order (over every sweep given). */
  parameters: string[];
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${path}: cannot read it (${(e as Error).message})`);
  }
}

/**
 * The runs in the given folders: a results folder is one run; a sweep
 * folder, each of its runs that finished (the others are counted in
 * `skipped`).
 */
export function readFolders(paths: string[]): Folders & { skipped: number } {
  const runs: RunFolderInfo[] = [];
  const parameters: string[] = [];
  let skipped = 0;
  for (const given of paths) {
    const dir = resolve(given);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${given}: no such folder`);
    if (existsSync(join(dir, 'sweep.json'))) {
      const plan = readJson(join(dir, 'sweep.json')) as { points?: { id: string; params: Record<string, string> }[]; sweep?: { parameters?: { path: string }[] } };
      if (!Array.isArray(plan.points)) throw new UserError(`${join(dir, 'sweep.json')}: not a sweep plan (no points)`);
      for (const p of plan.sweep?.parameters ?? []) if (!parameters.includes(p.path)) parameters.push(p.path);
      for (const point of plan.points) {
        const run = join(dir, 'runs', point.id);
        const manifest = existsSync(join(run, 'manifest.json')) ? readJson(join(run, 'manifest.json')) : null;
        if (manifest?.status !== 'complete') {
          skipped++;
          continue;
        }
        runs.push({ dir: run, manifest, params: point.params });
      }
    } else if (existsSync(join(dir, 'manifest.json'))) {
      runs.push({ dir, manifest: readJson(join(dir, 'manifest.json')), params: {} });
    } else {
      throw new UserError(`${given}: not a results folder (no manifest.json) nor a sweep folder (no sweep.json)`);
    }
  }
  return { runs, parameters, skipped };
}

/** A table of a run (summary.csv, accuracy.csv, ..., plain or .csv.gz) as records; [] when the run has none. */
export function readCsvFile(dir: string, file: string): Record<string, string>[] {
  const path = tablePath(dir, file);
  if (path === null) return [];
  return parse(readTableBytes(path), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

/**
 * What a run that did not complete left out, for the report: how it ended
 * (with the error it recorded) and each scheduler it did not finish, with
 * how far it got. Empty for a complete run.
 */
export function incompleteRun(manifest: RunFolderInfo['manifest']): string[] {
  if (manifest.status === 'complete') return [];
  const m = manifest as { status?: string; error?: string; schedulers?: { label: string }[]; scenario?: { iterations?: number }; completed_iterations?: Record<string, number> };
  const total = m.scenario?.iterations ?? NaN;
  const lines = [`the run ended ${m.status ?? 'without a status'}${m.error ? `: ${m.error}` : ''}`];
  const short = (m.schedulers ?? []).map((s) => ({ label: s.label, done: m.completed_iterations?.[s.label] })).filter((s) => !(s.done! >= total));
  if (short.length) {
    lines.push(`missing or incomplete: ${short.map((s) => `${s.label} (${s.done === undefined ? 'did not run' : `${s.done} of ${total} iterations`})`).join(', ')}`);
  }
  return lines;
}
