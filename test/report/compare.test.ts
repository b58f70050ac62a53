/**
 * geobed compare: intervals across seeds and the speedup's interval match a
 * hand computation; the CSV, Markdown and LaTeX outputs; the baseline is
 * the one asked for.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readCsv, useTempDir, writeFiles } from '../helpers.js';
import { latexEscape } from '../../src/report/tabular.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const geobed = (args: string[]) => execa('node', [BIN, ...args], { reject: false, env: { FORCE_COLOR: '0' } });

/** A finished run folder holding the given schedulers' mean iteration times (one seed). */
function fakeRun(dir: string, seed: number, means: Record<string, number>, tta: Record<string, number> = {}): string {
  const run = join(dir, `run-seed${seed}`);
  mkdirSync(run, { recursive: true });
  writeFiles(run, {
    'manifest.json': JSON.stringify({ status: 'complete', identity: { scenario: 'w', mode: 'sim', profile: 'custom', seed } }),
    'summary.csv': stringify([
      ['scenario', 'mode', 'profile', 'seed', 'scheduler', 'mean_s', 'bound_s', 'time_to_accuracy_s'],
      ...Object.entries(means).map(([s, m]) => ['w', 'sim', 'custom', seed, s, m, 2, tta[s] ?? '']),
    ]),
  });
  return run;
}

describe('geobed compare', () => {
  const dir = useTempDir();

  it('95% intervals across seeds and the speedup interval, as worked by hand', async () => {
    // star takes 10, 12, 14 s over three seeds; fast 5, 6, 7 s
    const runs = [1, 2, 3].map((seed) => fakeRun(dir.path, seed, { star: 8 + 2 * seed, fast: 4 + seed }, { star: 100 * seed, fast: 50 * seed }));
    const out = join(dir.path, 'cmp');
    mkdirSync(out);
    const r = await geobed(['compare', ...runs, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = readCsv(join(out, 'comparison.csv'));
    const star = rows.find((x) => x.scheduler === 'star')!;
    const fast = rows.find((x) => x.scheduler === 'fast')!;
    // star: mean 12, s = 2, t(0.975, 2) = 4.303: 12 +- 4.303 x 2 / sqrt(3) = 12 +- 4.968676
    expect(Number(star.mean_s)).toBeCloseTo(12, 6);
    expect(Number(star.ci95_low_s)).toBeCloseTo(12 - 4.968676, 5);
    expect(Number(star.ci95_high_s)).toBeCloseTo(12 + 4.968676, 5);
    // speedup 12 / 6 = 2; relative variance 4 / (3 x 144) + 1 / (3 x 36) = 0.0185185;
    // half-width 4.303 x 2 x sqrt(0.0185185) = 1.171129
    expect(fast.baseline).toBe('star');
    expect(Number(fast.speedup)).toBeCloseTo(2, 4);
    expect(Number(fast.speedup_ci95_low)).toBeCloseTo(2 - 1.171129, 3);
    expect(Number(fast.speedup_ci95_high)).toBeCloseTo(2 + 1.171129, 3);
    // time to accuracy: star 100, 200, 300 s: 200 +- 4.303 x 100 / sqrt(3) = 200 +- 248.4338, cut at 0
    expect(Number(star.time_to_accuracy_s)).toBeCloseTo(200, 6);
    expect(Number(star.tta_ci95_low_s)).toBe(0);
    expect(Number(star.tta_ci95_high_s)).toBeCloseTo(448.4338, 3);
    // the ratio to the bound (2 s)
    expect(Number(star.mean_over_bound)).toBeCloseTo(6, 4);
    // the same in Markdown and LaTeX (booktabs)
    const md = readFileSync(join(out, 'comparison.md'), 'utf8');
    expect(md).toMatch(/\| fast \| 3 \| 6\.000 \| 3\.516–8\.484 \| 2\.00× \| 0\.83×–3\.17× \| 3\.00 \|/);
    const tex = readFileSync(join(out, 'comparison.tex'), 'utf8');
    expect(tex).toMatch(/\\toprule[\s\S]*\\midrule[\s\S]*fast & 3 & 6\.000 & 3\.516--8\.484 & 2\.00\$\\times\$ & 0\.83\$\\times\$--3\.17\$\\times\$ & 3\.00[\s\S]*\\bottomrule/);
    expect(r.stdout).toMatch(/w \(sim, custom\), baseline star/);
  });

  it('--baseline picks the baseline; one that did not run is refused, naming what did', async () => {
    const runs = [1, 2].map((seed) => fakeRun(dir.path, seed, { star: 10 + seed, fast: 5 + seed }));
    const out = join(dir.path, 'cmp');
    mkdirSync(out);
    expect((await geobed(['compare', ...runs, '--out', out, '--baseline', 'fast'])).exitCode).toBe(0);
    const star = readCsv(join(out, 'comparison.csv')).find((x) => x.scheduler === 'star')!;
    expect(star.baseline).toBe('fast');
    expect(Number(star.speedup)).toBeCloseTo(6.5 / 11.5, 4);
    const bad = await geobed(['compare', ...runs, '--out', out, '--baseline', 'ring']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--baseline ring: w \(sim, custom\) has no runs of it; its schedulers are star, fast/);
    const many = await geobed(['compare', ...runs]);
    expect(many.exitCode).toBe(2);
    expect(many.stderr).toMatch(/several folders given; say where the comparison goes with --out/);
    expect((await geobed(['compare', join(dir.path, 'nothing')])).stderr).toMatch(/nothing: no such folder/);
  });

  // Issue 25: --out naming a folder not made yet crashed with a stack trace (ENOENT); one seed printed an interval for the baseline
  it('--out makes its folder; with one seed no scheduler has an interval, the baseline neither', async () => {
    const run = fakeRun(dir.path, 1, { star: 10, fast: 5 });
    const out = join(dir.path, 'new', 'folder');
    const r = await geobed(['compare', run, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = readCsv(join(out, 'comparison.csv'));
    for (const row of rows) expect([row.ci95_low_s, row.speedup_ci95_low, row.speedup_ci95_high], row.scheduler).toEqual(['', '', '']);
    expect(rows.find((x) => x.scheduler === 'star')!.speedup).toBe('1.0000');
    expect(r.stdout).not.toMatch(/1\.00×–1\.00×/);
  });

  it('escapes LaTeX\'s special characters in labels', () => {
    expect(latexEscape('net_storm & 50% #1')).toBe('net\\_storm \\& 50\\% \\#1');
  });
});
