/**
 * Where a results folder's tables are, and how to read them: each table is
 * `<name>.csv`, or `<name>.csv.gz` when the run compressed it
 * (`results.compress`). A compressed table is a series of gzip members, one
 * per batch of rows the run wrote (a run flushes at every iteration, so a
 * crash keeps every batch whole); gzip, pandas (`read_csv`), R (`gzfile`)
 * and Node read such a file as one.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';

/** The path of table `name` ("links.csv") in `dir`, plain or compressed, or null when neither exists. */
export function tablePath(dir: string, name: string): string | null {
  for (const path of [join(dir, name), join(dir, `${name}.gz`)]) if (existsSync(path)) return path;
  return null;
}

/** The table's name without ".gz" (what its readers know it as). */
export function tableName(file: string): string {
  return file.replace(/\.gz$/, '');
}

/** Is this file a table ("x.csv" or "x.csv.gz")? */
export function isTableFile(file: string): boolean {
  return /\.csv(\.gz)?$/.test(file);
}

/** The whole table's bytes, uncompressed. */
export function readTableBytes(path: string): Buffer {
  const bytes = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(bytes) : bytes;
}

/** The table as a stream of its uncompressed bytes (tables of any size). */
export function tableStream(path: string): Readable {
  const file = createReadStream(path);
  return path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
}
