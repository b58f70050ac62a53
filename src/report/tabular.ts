/**
 * The comparison as a paper shows it, one table per scenario (and grid
 * point): its display columns declared once and written as plain text (the
 * terminal), Markdown and a LaTeX tabular with booktabs rules. Intervals
 * are 95%, across seeds.
 */
import { describeGroup, type ComparisonRow, type Group } from './compare.js';

const num = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '');
const interval = (low: number, high: number, digits: number, unit = '') => (Number.isFinite(low) && Number.isFinite(high) ? `${num(low, digits)}${unit}–${num(high, digits)}${unit}` : '');

type DisplayColumn = readonly [header: string, value: (r: ComparisonRow) => string];

/** The display columns; time to accuracy only where some run trained, WAN megabytes per iteration only where data centers have LANs. */
export function displayColumns(rows: ComparisonRow[]): DisplayColumn[] {
  const trained = rows.some((r) => r.tta.reached > 0);
  const lans = rows.some((r) => Number.isFinite(r.wanMb));
  return [
    ['scheduler', (r) => r.scheduler],
    ['seeds', (r) => String(r.seeds)],
    ['mean iteration s', (r) => num(r.mean.mean, 3)],
    ['95% CI', (r) => interval(r.mean.low, r.mean.high, 3)],
    ['speedup', (r) => `${num(r.speedup.ratio, 2)}×`],
    ['95% CI', (r) => interval(r.speedup.low, r.speedup.high, 2, '×')],
    ['mean / bound', (r) => num(r.meanOverBound, 2)],
    ...(trained ? [
      ['time to accuracy s', (r: ComparisonRow) => (r.tta.reached ? num(r.tta.mean, 1) : 'not reached')] as const,
      ['95% CI', (r: ComparisonRow) => interval(r.tta.low, r.tta.high, 1)] as const,
    ] : []),
    ...(lans ? [['WAN MB / iteration', (r: ComparisonRow) => num(r.wanMb, 1)] as const] : []),
  ];
}

/** The rows of each group, in order. */
export function byGroup(rows: ComparisonRow[]): { group: Group; rows: ComparisonRow[] }[] {
  const out: { group: Group; rows: ComparisonRow[] }[] = [];
  for (const row of rows) {
    const last = out.at(-1);
    if (last && last.group === row.group) last.rows.push(row);
    else out.push({ group: row.group, rows: [row] });
  }
  return out;
}

function caption(group: Group, rows: ComparisonRow[]): string {
  return `${describeGroup(group)}: baseline ${rows[0].baseline}; 95% intervals across seeds`;
}

export function markdown(rows: ComparisonRow[]): string {
  return byGroup(rows).map(({ group, rows: g }) => {
    const columns = displayColumns(g);
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [
      `### ${caption(group, g)}`, '',
      line(columns.map(([h]) => h)),
      line(columns.map((_, i) => (i === 0 ? '---' : '---:'))),
      ...g.map((r) => line(columns.map(([, v]) => v(r)))),
      '',
    ].join('\n');
  }).join('\n');
}

/** LaTeX's special characters in text. */
export function latexEscape(text: string): string {
  return text.replace(/[\\{}$&#^_%~]/g, (c) => ({ '\\': '\\textbackslash{}', '~': '\\textasciitilde{}', '^': '\\textasciicircum{}' } as Record<string, string>)[c] ?? `\\${c}`)
    .replace(/×/g, '$\\times$').replace(/–/g, '--');
}

/** One tabular per group (needs \usepackage{booktabs}). */
export function latex(rows: ComparisonRow[]): string {
  return byGroup(rows).map(({ group, rows: g }) => {
    const columns = displayColumns(g);
    const row = (cells: string[]) => `  ${cells.map(latexEscape).join(' & ')} \\\\`;
    return [
      `% ${caption(group, g)}`,
      `\\begin{tabular}{l${'r'.repeat(columns.length - 1)}}`,
      '  \\toprule',
      row(columns.map(([h]) => h)),
      '  \\midrule',
      ...g.map((r) => row(columns.map(([, v]) => v(r)))),
      '  \\bottomrule',
      '\\end{tabular}',
      '',
    ].join('\n');
  }).join('\n');
}
