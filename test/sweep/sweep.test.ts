/**
 * Sweeps (geobed sweep): the grid's runs, the combined tables with the grid
 * as columns, a resumed sweep that neither loses nor repeats a run, and
 * refusals of bad sweep files that leave nothing behind.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readCsv, useTempDir, writeFiles } from '../helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');
const geobed = (args: string[], cwd = PACKAGE_ROOT) => execa('node', [BIN, ...args], { cwd, reject: false, env: { FORCE_COLOR: '0' } });

/** The quickstart with NetStorm beside star (its trace file by absolute path). */
const scenario = () => readFileSync(QUICKSTART, 'utf8').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`).replace('schedulers:\n  - star', 'schedulers:\n  - star\n  - netstorm');

const sweepText = (extra = '') => `name: s
scenarios: [q.yaml]
schedulers: [star, netstorm]
seeds: [1, 2, 3]
iterations: 3
${extra}`;

describe('geobed sweep', () => {
  const dir = useTempDir();
  const writeSweep = (text: string) => writeFiles(dir.path, { 'q.yaml': scenario(), 's.yaml': text });

  it('2 parameter values x 2 schedulers x 3 seeds: one run each, and combined tables with the grid as columns', async () => {
    writeSweep(sweepText('parameters:\n  schedulers.netstorm.roots: [1, 2]\n'));
    const out = join(dir.path, 'out');
    const r = await geobed(['sweep', join(dir.path, 's.yaml'), '--out', out, '--jobs', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/s: 12 runs/);
    expect(readdirSync(join(out, 'runs'))).toHaveLength(12);
    const summary = readCsv(join(out, 'summary.csv'));
    expect(summary).toHaveLength(12);
    expect(Object.keys(summary[0]).slice(0, 6)).toEqual(['point', 'schedulers.netstorm.roots', 'scenario', 'mode', 'profile', 'seed']);
    // every (roots, scheduler, seed) once
    const keys = summary.map((row) => `${row['schedulers.netstorm.roots']}/${row.scheduler}/${row.seed}`);
    expect(new Set(keys).size).toBe(12);
    for (const roots of ['1', '2']) for (const s of ['star', 'netstorm']) for (const seed of ['1', '2', '3']) expect(keys).toContain(`${roots}/${s}/${seed}`);
    // a point's rows are its run's rows: the roots value reached the run (NetStorm with one root is a star of its own)
    const iterations = readCsv(join(out, 'iterations.csv'));
    expect(iterations).toHaveLength(12 * 3);
    const netstorm = (roots: string) => summary.filter((row) => row.scheduler === 'netstorm' && row['schedulers.netstorm.roots'] === roots).map((row) => row.mean_s);
    expect(netstorm('1')).not.toEqual(netstorm('2'));
    const manifest = JSON.parse(readFileSync(join(out, 'runs', summary[0].point, 'manifest.json'), 'utf8'));
    expect(manifest.scenario.overrides).toEqual([`schedulers.netstorm.roots=${summary[0]['schedulers.netstorm.roots']}`]);
    // the same seed gives the same star run whatever NetStorm's roots (the grid varies one thing at a time)
    const star = summary.filter((row) => row.scheduler === 'star' && row.seed === '2');
    expect(star[0].mean_s).toBe(star[1].mean_s);
    // points.csv lists the grid
    expect(readCsv(join(out, 'points.csv'))).toHaveLength(12);
  }, 120_000);

  it('a sweep stopped midway resumes: finished runs kept and skipped, the half-written one redone, none lost or repeated', async () => {
    writeSweep(sweepText().replace('iterations: 3', 'iterations: 200'));
    const out = join(dir.path, 'out');
    const child = execa('node', [BIN, 'sweep', join(dir.path, 's.yaml'), '--out', out, '--jobs', '1'], { reject: false });
    // stop it once two runs are done and the third is under way
    const complete = (p: string) => existsSync(join(out, 'runs', p, 'manifest.json')) && /"status": "complete"/.test(readFileSync(join(out, 'runs', p, 'manifest.json'), 'utf8'));
    const done = () => (existsSync(join(out, 'runs')) ? readdirSync(join(out, 'runs')).filter(complete).length : 0);
    for (const until = Date.now() + 60_000; done() < 2 && Date.now() < until;) await new Promise((res) => setTimeout(res, 100));
    child.kill('SIGINT');
    const stopped = await child;
    expect(stopped.exitCode).toBe(130);
    expect(stopped.stderr).toMatch(/sweep stopped; \d run\(s\) left; the same command resumes it/);
    const before = readdirSync(join(out, 'runs'));
    const kept = before.filter(complete);
    expect(kept.length).toBeGreaterThanOrEqual(2);
    const keptManifests = Object.fromEntries(kept.map((p) => [p, readFileSync(join(out, 'runs', p, 'manifest.json'), 'utf8')]));
    const again = await geobed(['sweep', join(dir.path, 's.yaml'), '--out', out]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`resuming: ${kept.length} done`));
    expect(again.stdout).toMatch(new RegExp(`${6 - kept.length} run\\(s\\) here, ${kept.length} already done; 6 of 6 finished`));
    // the finished runs were not run again: their manifests are untouched
    for (const [p, text] of Object.entries(keptManifests)) expect(readFileSync(join(out, 'runs', p, 'manifest.json'), 'utf8')).toBe(text);
    const summary = readCsv(join(out, 'summary.csv'));
    expect(summary.map((row) => `${row.scheduler}/${row.seed}`).sort()).toEqual(['netstorm/1', 'netstorm/2', 'netstorm/3', 'star/1', 'star/2', 'star/3']);
    expect(readCsv(join(out, 'iterations.csv'))).toHaveLength(6 * 200);
  }, 180_000);

  it('sweep status and collect; another sweep in the same folder is refused', async () => {
    writeSweep(sweepText());
    const out = join(dir.path, 'out');
    expect((await geobed(['sweep', join(dir.path, 's.yaml'), '--out', out])).exitCode).toBe(0);
    rmSync(join(out, 'summary.csv'));
    rmSync(join(out, 'runs', readdirSync(join(out, 'runs'))[0]), { recursive: true });
    const status = await geobed(['sweep', 'status', out]);
    expect(status.stdout).toMatch(/s \(.*\): 5 of 6 runs done, 0 started or stopped, 1 not started/);
    const collect = await geobed(['sweep', 'collect', out]);
    expect(collect.exitCode).toBe(0);
    expect(collect.stdout).toMatch(/combined 5 finished run\(s\) \(1 not finished/);
    expect(readCsv(join(out, 'summary.csv'))).toHaveLength(5);
    writeFiles(dir.path, { 'other.yaml': sweepText().replace('seeds: [1, 2, 3]', 'seeds: [4]') });
    const other = await geobed(['sweep', join(dir.path, 'other.yaml'), '--out', out]);
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toMatch(/holds another sweep \(s, 6 runs; its grid differs/);
  }, 120_000);

  // Issue 25: Ctrl-C while the tables were combined exited 130 without a word, left links.csv.partial, and status said all was done
  it('a collection stopped midway says so, leaves no half-written table, and status says the tables are not written until collect writes them', async () => {
    writeSweep(sweepText().replace('seeds: [1, 2, 3]', 'seeds: [1]'));
    const out = join(dir.path, 'out');
    expect((await geobed(['sweep', join(dir.path, 's.yaml'), '--out', out])).exitCode).toBe(0);
    expect((await geobed(['sweep', 'status', out])).stdout).toMatch(/combined tables: written, with every finished run/);
    // a run with a big links.csv, so that combining it takes a while
    const links = join(out, 'runs', readdirSync(join(out, 'runs'))[0], 'links.csv');
    const row = readFileSync(links, 'utf8').trim().split('\n').pop()!;
    writeFileSync(links, `${row}\n`.repeat(2_000_000), { flag: 'a' });
    const child = execa('node', [BIN, 'sweep', 'collect', out], { reject: false });
    for (const until = Date.now() + 30_000; !existsSync(join(out, 'links.csv.partial')) && Date.now() < until;) await new Promise((res) => setTimeout(res, 20));
    child.kill('SIGINT');
    const stopped = await child;
    expect(stopped.exitCode).toBe(130);
    expect(stopped.stderr).toMatch(/^geobed: stopped by SIGINT while writing the sweep's combined tables; every finished run is kept, and geobed sweep collect .* writes the tables$/m);
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect((await geobed(['sweep', 'status', out])).stdout).toMatch(/2 of 2 runs done.*\ncombined tables: not written, or missing runs finished since .*geobed sweep collect/);
    expect((await geobed(['sweep', 'collect', out])).exitCode).toBe(0);
    expect((await geobed(['sweep', 'status', out])).stdout).toMatch(/combined tables: written, with every finished run/);
  }, 120_000);

  it('a scheduler the scenario does not list runs with its defaults, says so, and takes the grid\'s parameters as a listed one does', async () => {
    writeSweep(sweepText('parameters:\n  schedulers.mlnet.k: [2, 3]\n').replace('schedulers: [star, netstorm]', 'schedulers: [star, mlnet]').replace('seeds: [1, 2, 3]', 'seeds: [1]'));
    const out = join(dir.path, 'out');
    const r = await geobed(['sweep', join(dir.path, 's.yaml'), '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^geobed: note: .*q\.yaml does not list mlnet: it runs with its defaults$/m);
    const summary = readCsv(join(out, 'summary.csv'));
    const mlnet = (arity: string) => summary.find((row) => row.scheduler === 'mlnet' && row['schedulers.mlnet.k'] === arity)!.mean_s;
    expect(mlnet('2')).not.toBe(mlnet('3')); // the parameter reached it
  }, 120_000);

  it('runs with and without compression combine: their tables\' union, dense bytes = bytes and ratio 1 where nothing was compressed', async () => {
    writeSweep('name: c\nscenarios: [q.yaml]\nschedulers: [star, stellatrain]\nseeds: [1]\niterations: 2\n');
    const out = join(dir.path, 'mixed');
    const r = await geobed(['sweep', join(dir.path, 's.yaml'), '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = readCsv(join(out, 'iterations.csv'));
    expect(rows).toHaveLength(4);
    for (const row of rows.filter((x) => x.scheduler === 'star')) expect([row.dense_bytes, row.compression_ratio]).toEqual([row.bytes, '1.0000']);
    for (const row of rows.filter((x) => x.scheduler === 'stellatrain')) expect(Number(row.compression_ratio)).toBeGreaterThan(50);
    expect(readCsv(join(out, 'transfers.csv')).filter((t) => t.scheduler === 'star').every((t) => t.dense_bytes === t.bytes)).toBe(true);
  });

  it('--slurm without sbatch is refused before the sweep folder is made', async () => {
    writeSweep(sweepText());
    const r = await execa(process.execPath, [BIN, 'sweep', join(dir.path, 's.yaml'), '--out', join(dir.path, 'out'), '--slurm'], { reject: false, env: { PATH: '/nonexistent', FORCE_COLOR: '0' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^geobed: --slurm: sbatch is not installed here/m);
    expect(existsSync(join(dir.path, 'out'))).toBe(false);
  });

  it('refuses bad sweep files with the file, line and field, creating nothing', async () => {
    const cases: [string, RegExp][] = [
      [sweepText().replace('seeds: [1, 2, 3]', 'seeds: [1, 1]'), /s\.yaml:4: seeds: a seed is listed twice/],
      [sweepText().replace('name: s', 'name: s\nmode: fast'), /s\.yaml:2: mode: expected one of "sim", "emu"/],
      [sweepText('parameters:\n  schedulers.netstorm.roots: [0]\n'), /scenario .*q\.yaml with schedulers\.netstorm\.roots=0:\n.*schedulers\[1\]\.roots.*\(set by --set schedulers\.netstorm\.roots=0\)/],
      [sweepText('parameters:\n  schedulers.nope.roots: [1]\n'), /schedulers\.nope: expected an index from 0 to 1 or a scheduler's label or name/],
      [sweepText('links: native\n'), /s\.yaml:6: links: applies to mode: emu only/],
      [sweepText().replace('q.yaml', 'missing.yaml'), /missing\.yaml: cannot read scenario file/],
    ];
    for (const [text, message] of cases) {
      writeSweep(text);
      const r = await geobed(['sweep', join(dir.path, 's.yaml'), '--out', join(dir.path, 'out')]);
      expect(r.exitCode, text).toBe(2);
      expect(r.stderr, text).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(join(dir.path, 'out')), text).toBe(false);
    }
  }, 120_000);
});
