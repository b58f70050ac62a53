/**
 * `geobed plot <folder>`: every plot of a results folder (a run) or a sweep
 * folder (its combined tables and the comparison), each as SVG, PNG, its
 * vega-lite spec and its data as CSV, in <folder>/plots/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../util/errors.js';
import { readCsvFile, readFolders } from './folders.js';
import { compareGroups, groupRuns } from './compare.js';
import { accuracyBytesPlots, accuracyPlot, iterationPlots, linkPlots, schedulerColours, speedupPlot, stalenessPlot, topologyPlots, type Plot } from './plots.js';
import { trafficPlots } from './traffic.js';
import { pngOf, svgOf } from './render.js';
import { existsSync } from 'node:fs';
import { max, min } from 'simple-statistics';

export interface PlotOptions {
  /** The iteration whose topology is drawn (default: the last). */
  iteration?: number;
  baseline?: string;
}

/** The plots of a folder (not yet rendered). */
export function folderPlots(dir: string, options: PlotOptions = {}): Plot[] {
  const iterations = readCsvFile(dir, 'iterations.csv');
  if (iterations.length === 0) throw new UserError(`${dir}: no iterations.csv (a sweep: geobed sweep collect ${dir} first)`);
  const accuracy = readCsvFile(dir, 'accuracy.csv');
  const colours = schedulerColours(iterations.map((r) => r.scheduler));
  const plots: Plot[] = [...iterationPlots(iterations, colours)];
  const acc = accuracyPlot(accuracy, colours);
  if (acc) plots.push(acc);
  plots.push(...accuracyBytesPlots(accuracy, iterations, colours));
  const staleness = stalenessPlot(readCsvFile(dir, 'updates.csv'), colours);
  if (staleness) plots.push(staleness);
  if (existsSync(join(dir, 'sweep.json'))) {
    const folders = readFolders([dir]);
    const speedup = speedupPlot(compareGroups(groupRuns(folders), options.baseline), colours);
    if (speedup) plots.push(speedup);
    return plots;
  }
  const links = readCsvFile(dir, 'links.csv');
  const transfers = readCsvFile(dir, 'transfers.csv');
  plots.push(...linkPlots(links));
  const numbers = iterations.map((r) => Number(r.iteration));
  const [first, last] = [min(numbers), max(numbers)];
  const iteration = options.iteration ?? last;
  if (!(Number.isInteger(iteration) && iteration >= first && iteration <= last)) throw new UserError(`--iteration: expected a whole number from ${first} to ${last} (iterations.csv), got ${iteration}`);
  const nodes = [...new Set(links.flatMap((l) => [l.from, l.to]))];
  plots.push(...topologyPlots(transfers, links, nodes, iteration));
  const runs = readFolders([dir]);
  if (runs.runs.length === 1) {
    const speedup = speedupPlot(compareGroups(groupRuns(runs), options.baseline), colours);
    if (speedup && speedup.rows.length > 1) plots.push(speedup);
  }
  plots.push(...trafficPlots(dir, transfers, links, colours));
  return plots;
}

export interface Rendered {
  plot: Plot;
  files: string[];
  width: number;
  height: number;
}

/** Render every plot into <dir>/plots/: name.svg, name.png, name.vl.json (the spec) and name.csv (its data). */
export async function renderPlots(dir: string, plots: Plot[]): Promise<Rendered[]> {
  const out = join(dir, 'plots');
  mkdirSync(out, { recursive: true });
  const rendered: Rendered[] = [];
  for (const plot of plots) {
    const svg = await svgOf(plot.spec);
    const png = pngOf(svg);
    const base = join(out, plot.name);
    writeFileSync(`${base}.svg`, svg);
    writeFileSync(`${base}.png`, png);
    writeFileSync(`${base}.vl.json`, `${JSON.stringify(plot.spec, null, 1)}\n`);
    const columns = [...new Set(plot.rows.flatMap((r) => Object.keys(r)))];
    writeFileSync(`${base}.csv`, stringify([columns, ...plot.rows.map((r) => columns.map((c) => r[c] ?? ''))]));
    // PNG header: width and height at bytes 16-23
    rendered.push({ plot, files: ['svg', 'png', 'vl.json', 'csv'].map((e) => `${base}.${e}`), width: png.readUInt32BE(16), height: png.readUInt32BE(20) });
  }
  return rendered;
}
