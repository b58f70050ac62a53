/** Trace files: CSV `time_s,<value>` (mbps, delay_ms or loss_percent), read with errors that name the file and line, and written in chunks. */
import type { Trace } from '../../model/trace.js';
import { UserError } from '../../util/errors.js';
import { readText } from '../../util/files.js';
import { MAX_DELAY_MS, MAX_MBPS } from '../../model/limits.js';
import type { TraceTable } from './piecewise.js';
import { quoted } from '../../util/format.js';

/** The value column of a trace file, and its largest value. */
export interface TraceColumn {
  name: 'mbps' | 'delay_ms' | 'loss_percent';
  max: number;
  /** Why the largest value is the largest (for the error message). */
  maxNote: string;
}

export const RATE_COLUMN: TraceColumn = { name: 'mbps', max: MAX_MBPS, maxNote: ' (1 Tbit/s)' };
export const DELAY_COLUMN: TraceColumn = { name: 'delay_ms', max: MAX_DELAY_MS, maxNote: '' };
export const LOSS_COLUMN: TraceColumn = { name: 'loss_percent', max: 100, maxNote: '' };

/**
 * Parse a `time_s,<column>` CSV (header required; blank lines and `#`
 * comments skipped). `file` is only used in error messages. The table's
 * values are in `mbps` whatever the column (a trace is a piecewise-constant
 * value over time).
 */
export function parseTraceCsv(text: string, file: string, column: TraceColumn = RATE_COLUMN): TraceTable {
  const times: number[] = [];
  const mbps: number[] = [];
  const lines = text.split(/\r?\n/);
  const header = `time_s,${column.name}`;
  let sawHeader = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${i + 1}`;
    if (!sawHeader) {
      if (line.replace(/\s/g, '') !== header) {
        throw new UserError(`${where}: expected the header "${header}", got ${quoted(line)}`);
      }
      sawHeader = true;
      continue;
    }
    const cells = line.split(',');
    const t = Number(cells[0]);
    const r = Number(cells[1]);
    if (cells.length !== 2 || cells[0].trim() === '' || cells[1].trim() === '' || !Number.isFinite(t) || !Number.isFinite(r)) {
      throw new UserError(`${where}: expected a row "${header}" of two numbers, got ${quoted(line)}`);
    }
    if (t < 0) throw new UserError(`${where}: time_s must be >= 0, got ${t}`);
    if (r < 0) throw new UserError(`${where}: ${column.name} must be >= 0, got ${r}`);
    if (r > column.max) throw new UserError(`${where}: ${column.name} must be at most ${column.max}${column.maxNote}, got ${r}`);
    if (times.length === 0 && t !== 0) throw new UserError(`${where}: the first row must be at time_s 0, got ${t}`);
    if (times.length > 0 && t <= times[times.length - 1]) {
      throw new UserError(`${where}: time_s must increase from row to row (${t} after ${times[times.length - 1]})`);
    }
    times.push(t);
    mbps.push(r);
  }
  if (!sawHeader) throw new UserError(`${file}: empty trace; expected the header "${header}" and at least one row`);
  if (times.length === 0) throw new UserError(`${file}: the trace has a header but no rows`);
  return { times, mbps };
}

export function readTraceCsv(path: string, column: TraceColumn = RATE_COLUMN): TraceTable {
  return parseTraceCsv(readText(path, 'trace file'), path, column);
}

/**
 * The CSV of a trace over [0, seconds), in chunks of rows, so a long trace
 * is written as it is generated, never held whole as text.
 */
export function* traceCsvChunks(trace: Trace, seconds: number, rowsPerChunk = 10_000): Generator<string> {
  let chunk = 'time_s,mbps\n';
  let rows = 0;
  let last = NaN;
  for (let t = 0; t < seconds; t = trace.nextChangeAfter(t)) {
    const r = trace.rateAt(t);
    if (r === last) continue;
    last = r;
    chunk += `${round(t)},${round(r)}\n`;
    if (++rows % rowsPerChunk === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

export function formatTraceCsv(table: TraceTable): string {
  const rows = table.times.map((t, i) => `${round(t)},${round(table.mbps[i])}`);
  return `time_s,mbps\n${rows.join('\n')}\n`;
}

function round(x: number): string {
  return String(Math.round(x * 1e6) / 1e6);
}
