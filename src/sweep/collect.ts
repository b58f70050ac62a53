/**
 * The combined tables of a sweep: for each table its runs wrote
 * (iterations.csv, summary.csv, links.csv, ...), one tidy CSV at the top of
 * the sweep folder with every finished run's rows, each row led by the grid
 * columns (the point, then each parameter's value); the runs' own columns
 * follow (scenario, mode, profile, seed, scheduler, ...). Streamed, so
 * tables of any size fit. Each table is written beside as <file>.partial
 * and renamed when whole; collected.json then says which runs the tables
 * hold. A stop (Ctrl-C) removes the half-written table and leaves
 * collected.json out, so `sweep status` can say the tables are not whole.
 */
import { createWriteStream, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createGzip } from 'node:zlib';
import { isTableFile, tableName, tablePath, tableStream } from '../results/table-files.js';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse/sync';
import { rowInUnion, unionOfColumns } from '../results/optional-columns.js';
import { UserError } from '../util/errors.js';
import { handleStops, stopSignal } from '../util/teardown.js';
import { gridColumns, gridValues, pointState, runDir, type SweepPlan } from './folder.js';
import type { SweepPoint } from './grid.js';

/** CSV text of one row, without its line end. */
const csvLine = (cells: (string | number)[]) => stringify([cells]).replace(/\n$/, '');

export interface Collected {
  /** Finished runs whose rows were combined, and the points not finished. */
  runs: number;
  missing: number;
  /** Table file -> rows written. */
  tables: Map<string, number>;
}

/** Which runs the combined tables hold (written last by a collection that completed). */
export const COLLECTED_FILE = 'collected.json';

export async function collectSweep(folder: string, plan: SweepPlan): Promise<Collected> {
  const done = plan.points.filter((p) => pointState(folder, p) === 'done');
  // each table by its name; compressed (.csv.gz, results.compress) when its runs wrote it so
  const files = new Map<string, boolean>();
  for (const p of done) for (const f of readdirSync(runDir(folder, p))) if (isTableFile(f)) files.set(tableName(f), (files.get(tableName(f)) ?? false) || f.endsWith('.gz'));
  const tables = new Map<string, number>();
  // (this collection's record replaces the last one only when it completes)
  rmSync(join(folder, COLLECTED_FILE), { force: true });
  const release = handleStops();
  try {
    for (const [file, gzipped] of [...files].sort(([a], [b]) => a.localeCompare(b))) tables.set(gzipped ? `${file}.gz` : file, await combine(folder, plan, done, file, gzipped));
  } finally {
    release();
  }
  writeFileSync(join(folder, COLLECTED_FILE), `${JSON.stringify({ points: done.map((p) => p.id), tables: Object.fromEntries(tables), at: new Date().toISOString() }, null, 2)}\n`);
  return { runs: done.length, missing: plan.points.length - done.length, tables };
}

/** One combined table, written whole or not at all (a stop removes its .partial and throws the stop's reason). */
async function combine(folder: string, plan: SweepPlan, done: SweepPoint[], file: string, gzipped: boolean): Promise<number> {
  const target = join(folder, gzipped ? `${file}.gz` : file);
  const tmp = `${target}.partial`;
  const sink = createWriteStream(tmp);
  const out = gzipped ? createGzip() : sink;
  if (gzipped) out.pipe(sink);
  let rows = 0;
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  try {
    // the runs' headers first: runs with and without optional columns (LANs, compression) combine into their union
    const headers = new Map<string, string>();
    for (const point of done) {
      const path = tablePath(runDir(folder, point), file);
      if (path !== null) headers.set(path, await firstLine(path));
    }
    const distinct = [...new Set(headers.values())];
    const union = distinct.length > 0 ? unionOfColumns(distinct.map(parseLine)) : [];
    if (union === null) {
      const [path, line] = [...headers].find(([, h]) => h !== distinct[0])!;
      throw new UserError(`${path}: its columns differ from the other runs' ${file} (written by another geobed version?): ${line}`);
    }
    if (distinct.length > 0) await write(`${csvLine(gridColumns(plan))},${csvLine(union)}`);
    for (const point of done) {
      const path = tablePath(runDir(folder, point), file);
      if (path === null) continue;
      const prefix = csvLine(gridValues(plan, point));
      const header = headers.get(path)!;
      const columns = header === csvLine(union) ? null : parseLine(header);
      let first = true;
      for await (const line of createInterface({ input: tableStream(path), crlfDelay: Infinity })) {
        stopSignal.throwIfAborted();
        if (first) {
          first = false;
          continue;
        }
        if (line === '') continue;
        await write(`${prefix},${columns ? csvLine(rowInUnion(columns, union, parseLine(line))) : line}`);
        rows++;
      }
    }
    out.end();
    await once(sink, 'finish');
  } catch (e) {
    out.destroy();
    sink.destroy();
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, target);
  return rows;
}

/** A table's first line (its header). */
async function firstLine(path: string): Promise<string> {
  const input = tableStream(path);
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) return line;
    return '';
  } finally {
    lines.close();
    input.destroy();
  }
}

/** The cells of one CSV line. */
function parseLine(line: string): string[] {
  return (parse(line) as string[][])[0] ?? [];
}

/** Do the combined tables hold exactly the runs done now? (False when a collection was stopped, or runs finished since.) */
export function tablesUpToDate(folder: string, plan: SweepPlan): boolean {
  const done = plan.points.filter((p) => pointState(folder, p) === 'done').map((p) => p.id);
  try {
    const record = JSON.parse(readFileSync(join(folder, COLLECTED_FILE), 'utf8')) as { points?: string[] };
    return JSON.stringify(record.points) === JSON.stringify(done);
  } catch {
    return false;
  }
}
