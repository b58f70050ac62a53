/**
 * geobed plot: every plot of a run renders to SVG and to a PNG of sane size
 * with content on it, with its spec and data beside it; one colour per
 * scheduler in every plot; the traffic characterisation adds up.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readCsv, useTempDir } from '../helpers.js';
import { schedulerColours } from '../../src/report/plots.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');
const geobed = (args: string[]) => execa('node', [BIN, ...args], { reject: false, env: { FORCE_COLOR: '0' } });

/** Share of pixels that are not white, and how many distinct colours (RGBA from resvg). */
function ink(svg: string): { share: number; colours: number } {
  const image = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render();
  const px = image.pixels;
  let inked = 0;
  const colours = new Set<number>();
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3] > 0 && (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240)) inked++;
    colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
  }
  return { share: inked / (px.length / 4), colours: colours.size };
}

describe('geobed plot', () => {
  const dir = useTempDir();

  it('renders every plot of a run: SVG, a PNG of sane size with content, the spec and the data', async () => {
    const out = join(dir.path, 'run');
    expect((await geobed(['run', QUICKSTART, '--schedulers', 'star,mlnet,netstorm', '--iterations', '6', '--out', out])).exitCode).toBe(0);
    const r = await geobed(['plot', out, '--iteration', '3']);
    expect(r.exitCode, r.stderr).toBe(0);
    const names = readdirSync(join(out, 'plots')).filter((f) => f.endsWith('.png')).map((f) => f.replace(/\.png$/, '')).sort();
    expect(names).toEqual([
      'iteration-time-box', 'iteration-time-cdf', 'links-mlnet', 'links-netstorm', 'links-star', 'speedup',
      'topology-mlnet', 'topology-netstorm', 'topology-star', 'traffic-burstiness', 'traffic-link-shares', 'traffic-message-sizes', 'traffic-nodes',
    ]);
    const legends = new Map<string, string>();
    for (const name of names) {
      const png = readFileSync(join(out, 'plots', `${name}.png`));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
      expect(w, name).toBeGreaterThan(400);
      expect(w, name).toBeLessThan(4000);
      expect(h, name).toBeGreaterThan(300);
      expect(h, name).toBeLessThan(4000);
      const svg = readFileSync(join(out, 'plots', `${name}.svg`), 'utf8');
      const { share, colours } = ink(svg);
      expect(share, name).toBeGreaterThan(0.02); // marks, axes and text, not a blank page
      expect(colours, name).toBeGreaterThan(8);
      expect(svg, name).toMatch(/<text[^>]*>[^<]+<\/text>/); // labels are drawn
      expect(readCsv(join(out, 'plots', `${name}.csv`)).length, name).toBeGreaterThan(0);
      // one colour per scheduler: wherever a plot colours by scheduler, the same mapping
      const spec = JSON.parse(readFileSync(join(out, 'plots', `${name}.vl.json`), 'utf8'));
      const found = JSON.stringify(spec).match(/"field":"scheduler","type":"nominal","title":"scheduler","scale":(\{"domain":\[[^\]]*\],"range":\[[^\]]*\]\})/);
      if (found) legends.set(name, found[1]);
    }
    expect(new Set(legends.values()).size).toBe(1);
    expect(legends.size).toBeGreaterThanOrEqual(6);
    // axes say their units
    expect(readFileSync(join(out, 'plots', 'iteration-time-box.svg'), 'utf8')).toMatch(/iteration time \(s\)/);
    expect(readFileSync(join(out, 'plots', 'links-star.svg'), 'utf8')).toMatch(/Mbit\/s/);
    expect(readFileSync(join(out, 'plots', 'topology-star.svg'), 'utf8')).toMatch(/iteration 3/);
    expect((await geobed(['plot', out, '--iteration', '99'])).stderr).toMatch(/--iteration: expected a whole number from \d+ to \d+/);
  }, 60_000);

  it('traffic.csv: the bytes each node sent over time add up to its messages\' bytes; the traffic matrix to the same', async () => {
    const out = join(dir.path, 'run');
    expect((await geobed(['run', QUICKSTART, '--schedulers', 'netstorm', '--iterations', '4', '--out', out])).exitCode).toBe(0);
    expect((await geobed(['plot', out])).exitCode).toBe(0);
    expect(existsSync(join(out, 'traffic.csv'))).toBe(true);
    const traffic = readCsv(join(out, 'traffic.csv'));
    const transfers = readCsv(join(out, 'transfers.csv')).filter((t) => t.from !== t.to);
    const sent = (node: string) => transfers.filter((t) => t.from === node).reduce((s, t) => s + Number(t.bytes), 0);
    for (const node of ['fra', 'lon', 'par', 'mad']) {
      const series = traffic.filter((row) => row.measure === 'node_bytes' && row.subject === node).reduce((s, row) => s + Number(row.value), 0);
      expect(series / sent(node), node).toBeCloseTo(1, 6);
    }
    const matrix = traffic.filter((row) => row.measure === 'matrix').reduce((s, row) => s + Number(row.value), 0);
    expect(matrix).toBe(transfers.reduce((s, t) => s + Number(t.bytes), 0));
    const messages = traffic.filter((row) => row.measure === 'message_size').reduce((s, row) => s + Number(row.value), 0);
    expect(messages).toBe(transfers.length);
    const shares = traffic.filter((row) => row.measure === 'link_share').reduce((s, row) => s + Number(row.value), 0);
    expect(shares).toBeCloseTo(1, 4);
    for (const row of traffic.filter((x) => x.measure.startsWith('burstiness'))) expect(Number(row.value)).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('the published schedulers keep their colours; variants and others take distinct ones', () => {
    const a = schedulerColours(['netstorm', 'star']);
    const b = schedulerColours(['star', 'mlnet', 'netstorm', 'netstorm-aware', 'mine']);
    const colour = (c: { domain: string[]; range: string[] }, l: string) => c.range[c.domain.indexOf(l)];
    expect(colour(a, 'star')).toBe(colour(b, 'star'));
    expect(colour(a, 'netstorm')).toBe(colour(b, 'netstorm'));
    expect(new Set(b.range).size).toBe(5);
    expect(b.domain).toEqual(['star', 'mlnet', 'netstorm', 'netstorm-aware', 'mine']);
  });
});
