/**
 * The combined tables of a sweep: for each table its runs wrote
 * (iterations.csv, summary.csv, links.csv, ...), one tidy CSV at the top of
 * the sweep folder with every finished run's rows, each row led by the grid
 * columns (the point, then each parameter's value); the runs' own columns
 * follow (scenario, mode, profile, seed, scheduler, ...). Streamed, so
 * tables of any size fit.
 */
import { createReadStream, createWriteStream, existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../util/errors.js';
import { gridColumns, gridValues, pointState, runDir, type SweepPlan } from './folder.js';

/** CSV text of one row, without its line end. */
const csvLine = (cells: (string | number)[]) => stringify([cells]).replace(/\n$/, '');

export interface Collected {
  /** Finished runs whose rows were combined, and the points not finished. */
  runs: number;
  missing: number;
  /** Table file -> rows written. */
  tables: Map<string, number>;
}

export async function collectSweep(folder: string, plan: SweepPlan): Promise<Collected> {
  const done = plan.points.filter((p) => pointState(folder, p) === 'done');
  const files = new Set<string>();
  for (const p of done) for (const f of readdirSync(runDir(folder, p))) if (f.endsWith('.csv')) files.add(f);
  const tables = new Map<string, number>();
  for (const file of [...files].sort()) {
    const tmp = join(folder, `${file}.partial`);
    const out = createWriteStream(tmp);
    let header: string | null = null;
    let rows = 0;
    const write = async (line: string) => {
      if (!out.write(`${line}\n`)) await once(out, 'drain');
    };
    for (const point of done) {
      const path = join(runDir(folder, point), file);
      if (!existsSync(path)) continue;
      const prefix = csvLine(gridValues(plan, point));
      let first = true;
      for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
        if (first) {
          first = false;
          if (header === null) {
            header = line;
            await write(`${csvLine(gridColumns(plan))},${line}`);
          } else if (line !== header) {
            out.destroy();
            throw new UserError(`${path}: its columns differ from the other runs' ${file} (written by another geobed version?): ${line}`);
          }
          continue;
        }
        if (line === '') continue;
        await write(`${prefix},${line}`);
        rows++;
      }
    }
    out.end();
    await once(out, 'finish');
    renameSync(tmp, join(folder, file));
    tables.set(file, rows);
  }
  return { runs: done.length, missing: plan.points.length - done.length, tables };
}
