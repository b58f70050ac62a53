/**
 * `geobed compare`: the comparison table of run and sweep folders, as CSV,
 * Markdown and LaTeX; `geobed plot`: a folder's plots; `geobed report`: its
 * self-contained HTML report.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../util/errors.js';
import { incompleteRun, readFolders } from '../report/folders.js';
import { compareGroups, comparisonTable, describeGroup, groupRuns } from '../report/compare.js';
import { byGroup, displayColumns, latex, markdown } from '../report/tabular.js';
import { folderPlots, renderPlots } from '../report/plot-folder.js';
import { reportHtml } from '../report/html.js';
import { parse } from 'csv-parse/sync';
import { formatTable } from './table.js';
import { guarded } from './common.js';

export function reportCommands(y: Argv): Argv {
  return y.command(
    'compare <folders..>',
    'compare schedulers across seeds: mean iteration time, speedup over a baseline and time to accuracy with 95% intervals (comparison.csv, .md, .tex)',
    (c) => c
      .positional('folders', { type: 'string', array: true, demandOption: true, describe: 'results folders and sweep folders' })
      .option('baseline', { type: 'string', describe: 'the scheduler label speedups are over (default: star where it ran, else the first scheduler)' })
      .option('out', { type: 'string', describe: 'where comparison.csv, .md and .tex go (default: the folder given, when one is)' }),
    guarded((a) => {
      const paths = (a.folders as string[]).map(String);
      if (a.out === undefined && paths.length > 1) throw new UserError('compare: several folders given; say where the comparison goes with --out');
      const folders = readFolders(paths);
      if (folders.runs.length === 0) throw new UserError(`compare: no finished run in ${paths.join(', ')}`);
      const rows = compareGroups(groupRuns(folders), a.baseline);
      const out = resolve(a.out ?? paths[0]);
      mkdirSync(out, { recursive: true }); // (--out may name a folder to make, as decompose's does)
      const table = comparisonTable(folders.parameters, rows.some((r) => Number.isFinite(r.wanMb)));
      writeFileSync(join(out, table.file), stringify([table.columns.map(([name]) => name), ...rows.map((r) => table.columns.map(([, value]) => value(r)))]));
      writeFileSync(join(out, 'comparison.md'), markdown(rows));
      writeFileSync(join(out, 'comparison.tex'), latex(rows));
      for (const { group, rows: g } of byGroup(rows)) {
        const columns = displayColumns(g);
        process.stdout.write(`${describeGroup(group)}, baseline ${g[0].baseline} (95% intervals across seeds):\n\n${formatTable(columns.map(([h]) => h), g.map((r) => columns.map(([, v]) => v(r))))}\n\n`);
      }
      if (folders.skipped) process.stdout.write(`(${folders.skipped} run(s) of the sweep not finished, left out)\n`);
      process.stdout.write(`wrote ${['comparison.csv', 'comparison.md', 'comparison.tex'].map((f) => join(out, f)).join(', ')}\n`);
    }),
  ).command(
    'plot <folder>',
    'render a results or sweep folder\'s plots to <folder>/plots/ (SVG, PNG, and each plot\'s vega-lite spec and data as CSV)',
    (c) => c
      .positional('folder', { type: 'string', demandOption: true })
      .option('iteration', { type: 'number', describe: 'the iteration whose topology is drawn (default: the last)' })
      .option('baseline', { type: 'string', describe: 'the speedup plot\'s baseline (as compare)' }),
    guarded(async (a) => {
      const dir = resolve(String(a.folder));
      const rendered = await renderPlots(dir, folderPlots(dir, { iteration: a.iteration, baseline: a.baseline }));
      for (const r of rendered) process.stdout.write(`${r.plot.title}: ${r.files[1]} (${r.width} x ${r.height})\n`);
      if (existsSync(join(dir, 'traffic.csv'))) process.stdout.write(`traffic characterisation: ${join(dir, 'traffic.csv')}\n`);
    }),
  ).command(
    'report <folder>',
    'write <folder>/report.html: the scenario, the summary or comparison, every plot (interactive), fidelity warnings and the manifest, in one file that opens offline',
    (c) => c
      .positional('folder', { type: 'string', demandOption: true })
      .option('baseline', { type: 'string', describe: 'a sweep\'s comparison baseline (as compare)' }),
    guarded((a) => {
      const dir = resolve(String(a.folder));
      const file = join(dir, 'report.html');
      writeFileSync(file, reportHtml(reportInput(dir, a.baseline)));
      process.stdout.write(`wrote ${file}\n`);
    }),
  );
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${path}: cannot read it (${(e as Error).message})`);
  }
}

/** What a folder's report shows. */
function reportInput(dir: string, baseline: string | undefined): Parameters<typeof reportHtml>[0] {
  const plots = folderPlots(dir, { baseline });
  const folders = readFolders([dir]);
  const warnings = folders.runs.flatMap((run) => {
    const problems = (run.manifest.fidelity as { problems?: Record<string, string[]> } | undefined)?.problems ?? {};
    return Object.entries(problems).flatMap(([scheduler, list]) => list.map((p) => `${folders.runs.length > 1 ? `${run.dir}: ` : ''}${scheduler}: ${p}`));
  });
  if (existsSync(join(dir, 'sweep.json'))) {
    const plan = readJson(join(dir, 'sweep.json')) as { sweep: { name: string; mode: string; scenarios: string[]; seeds: number[]; parameters: { path: string; values: string[] }[] }; points: unknown[] };
    return {
      title: `geobed sweep ${plan.sweep.name}`,
      facts: [
        ['sweep', plan.sweep.name], ['mode', plan.sweep.mode], ['scenarios', plan.sweep.scenarios.join(', ')], ['seeds', plan.sweep.seeds.join(', ')],
        ...plan.sweep.parameters.map((p): [string, string] => [p.path, p.values.join(', ')]), ['runs', `${folders.runs.length} of ${plan.points.length} finished`],
      ],
      summary: null, comparison: compareGroups(groupRuns(folders), baseline), plots, warnings, incomplete: [], manifest: { ...plan, points: `${plan.points.length} points (sweep.json)` },
    };
  }
  const manifest = folders.runs[0].manifest as Record<string, any>;
  const [headers, ...rows] = parse(readFileSync(join(dir, 'summary.csv')), { skip_empty_lines: true }) as string[][];
  return {
    title: `geobed: ${manifest.scenario?.name ?? dir}`,
    facts: [
      ['scenario', `${manifest.scenario?.name} (${manifest.scenario?.file})`], ['sha256', String(manifest.scenario?.sha256)], ['mode', String(manifest.mode)],
      ['network', String(manifest.backends?.network)], ['seed', String(manifest.scenario?.seed)], ['iterations', String(manifest.scenario?.iterations)],
      ['model', `${manifest.workload?.profile}, ${(Number(manifest.workload?.gradient_bytes) / 1e6).toFixed(1)} MB`], ['status', String(manifest.status)],
      ['geobed', `${manifest.geobed}${manifest.git ? ` (${manifest.git.commit.slice(0, 12)}${manifest.git.dirty ? ', uncommitted changes' : ''})` : ''}`],
    ],
    summary: { headers, rows }, comparison: null, plots, warnings, incomplete: incompleteRun(manifest), manifest,
  };
}
