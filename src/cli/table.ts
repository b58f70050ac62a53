/** The summary table printed after a run. */
import type { SummaryRow } from '../results/tables.js';

function num(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** A plain-text table: the first column left-aligned, the others right-aligned unless `leftAligned`. */
export function formatTable(headers: string[], rows: string[][], leftAligned = false): string {
  // (a loop, not Math.max(...rows): a 500-node mesh has 249,500 rows, more arguments than a call can take)
  const widths = headers.map((h) => h.length);
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i], cell.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || leftAligned ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function summaryTable(rows: SummaryRow[]): string {
  return formatTable(
    ['scheduler', 'iters', 'mean s', '95% CI', 'median s', 'p95 s', 'bound s', 'mean/bound', 'speedup vs star', '95% CI'],
    rows.map((r) => [
      r.scheduler, String(r.iterations), num(r.mean_s), Number.isFinite(r.ci95_low_s) ? `${num(r.ci95_low_s)}-${num(r.ci95_high_s)}` : '-', num(r.median_s),
      num(r.p95_s), num(r.bound_s), num(r.mean_over_bound, 2), Number.isFinite(r.speedup_vs_star) ? `${num(r.speedup_vs_star, 2)}x` : '-',
      Number.isFinite(r.speedup_ci95_low) ? `${num(r.speedup_ci95_low, 2)}-${num(r.speedup_ci95_high, 2)}` : '-',
    ]),
  );
}
