/**
 * `geobed report <folder>`: one self-contained report.html (vega, vega-lite
 * and vega-embed inlined: it opens with no network): the scenario, the
 * summary (a run) or the comparison across seeds (a sweep), every plot
 * (interactive), the fidelity warnings of emulated runs, and the manifest.
 * When every plot has rendered, <body data-rendered> holds their count.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plot } from './plots.js';
import type { ComparisonRow } from './compare.js';
import { byGroup, displayColumns } from './tabular.js';
import { describeGroup } from './compare.js';

/** A package's browser build: <file> beside its module entry (each of vega, vega-lite, vega-embed keeps both in build/). */
function browserBuild(pkg: string, file: string): string {
  return readFileSync(join(dirname(fileURLToPath(import.meta.resolve(pkg))), file), 'utf8');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]!));
/** Text safe inside <script> (no "</script>" or "<!--" can end it early). */
const scriptSafe = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

function table(id: string, headers: string[], rows: string[][]): string {
  return `<table id="${id}"><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

export interface ReportInput {
  title: string;
  /** Key facts about the scenario (or sweep), in order. */
  facts: [string, string][];
  /** A run: its summary.csv rows as they are in the file. */
  summary: { headers: string[]; rows: string[][] } | null;
  /** A sweep: the comparison across seeds. */
  comparison: ComparisonRow[] | null;
  plots: Plot[];
  /** Fidelity warnings of emulated runs ("where: problem"). */
  warnings: string[];
  /** A run that did not complete: how it ended and what it left out (folders.ts: incompleteRun); empty otherwise. */
  incomplete: string[];
  manifest: unknown;
}

export function reportHtml(input: ReportInput): string {
  const comparison = input.comparison
    ? byGroup(input.comparison).map(({ group, rows }, k) => {
      const columns = displayColumns(rows);
      return `<h3>${escapeHtml(describeGroup(group))}, baseline ${escapeHtml(rows[0].baseline)}</h3>${table(`comparison-${k}`, columns.map(([h]) => h), rows.map((r) => columns.map(([, v]) => v(r))))}`;
    }).join('\n')
    : '';
  const specs = Object.fromEntries(input.plots.map((p) => [p.name, p.spec]));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(input.title)}</title>
<style>
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dt { font-weight: bold; }
.warning { background: #fff3cd; border-left: 4px solid #e0a800; padding: 6px 10px; margin: 4px 0; }
.plot { margin: 1em 0 2em; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px; }
</style>
<script>${scriptSafe(browserBuild('vega', 'vega.min.js'))}</script>
<script>${scriptSafe(browserBuild('vega-lite', 'vega-lite.min.js'))}</script>
<script>${scriptSafe(browserBuild('vega-embed', 'vega-embed.min.js'))}</script>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
${input.incomplete.length ? `<h2>Incomplete run</h2>${input.incomplete.map((w) => `<div class="warning incomplete">${escapeHtml(w)}</div>`).join('\n')}` : ''}
<h2>Scenario</h2>
<dl>${input.facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
${input.warnings.length ? `<h2>Fidelity warnings</h2>${input.warnings.map((w) => `<div class="warning">${escapeHtml(w)}</div>`).join('\n')}` : ''}
${input.summary ? `<h2>Summary</h2>${table('summary', input.summary.headers, input.summary.rows)}` : ''}
${input.comparison ? `<h2>Comparison across seeds (95% intervals)</h2>${comparison}` : ''}
<h2>Plots</h2>
${input.plots.map((p) => `<div class="plot" id="plot-${escapeHtml(p.name)}"></div>`).join('\n')}
<h2>Manifest</h2>
<details><summary>manifest.json</summary><pre>${escapeHtml(JSON.stringify(input.manifest, null, 2))}</pre></details>
<script>
const specs = ${scriptSafe(JSON.stringify(specs))};
Promise.all(Object.entries(specs).map(([name, spec]) => vegaEmbed('#plot-' + name, spec, { actions: false, renderer: 'svg' })))
  .then((views) => { document.body.dataset.rendered = String(views.length); })
  .catch((e) => { console.error('a plot did not render: ' + e); });
</script>
</body>
</html>
`;
}
