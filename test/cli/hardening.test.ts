/**
 * What keeps a user's results safe, through the built CLI: runs started
 * together never share a folder, a stopped or killed run keeps what
 * finished (and `geobed summarize` rebuilds its summary), odd bins do not
 * hang the simulator, big meshes validate, reproducible training runs,
 * and the small things (--version, warnings, help width).
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readCsv, scenarioText, useTempDir, writeFiles } from '../helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');
const NINE_DC = join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml');
const TRAIN = join(PACKAGE_ROOT, 'scenarios', 'train-mnist.yaml');
const geobed = (args: string[], cwd = PACKAGE_ROOT) => execa(process.execPath, [BIN, ...args], { cwd, reject: false, env: { FORCE_COLOR: '0' } });
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

/** Wait until `test` holds, polling. */
async function waitFor(test: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rowsIn = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').length - 1 : 0);

describe('results stay whole', () => {
  const dir = useTempDir();

  it('runs started together get a folder each, named by profile and mode, and their rows never mix', async () => {
    // three profiles and two runs of the same one, all at once, into the default results/ folder
    const runs = ['alexnet', 'resnet50', 'vgg16', 'vgg16'].map((profile) =>
      geobed(['run', NINE_DC, '--profile', profile, '--iterations', '1', '--schedulers', 'star'], dir.path));
    const done = await Promise.all(runs);
    for (const r of done) expect(r.exitCode, r.stderr).toBe(0);
    const folders = readdirSync(join(dir.path, 'results')).sort();
    expect(folders).toHaveLength(4);
    for (const f of folders) expect(f).toMatch(/^netstorm-9dc-(alexnet|resnet50|vgg16)-sim-\d{8}-\d{6}-seed1(-\d+)?$/);
    expect(folders.filter((f) => f.includes('vgg16'))).toHaveLength(2);
    for (const f of folders) {
      const out = join(dir.path, 'results', f);
      const profile = /netstorm-9dc-(\w+)-sim/.exec(f)![1];
      expect(manifestOf(out)).toMatchObject({ status: 'complete', workload: { profile }, identity: { profile, mode: 'sim' } });
      for (const csv of ['iterations.csv', 'transfers.csv', 'links.csv', 'summary.csv']) {
        const rows = readCsv(join(out, csv));
        expect(rows.length, `${f}/${csv}`).toBeGreaterThan(0);
        expect(new Set(rows.map((r) => r.profile)), `${f}/${csv}`).toEqual(new Set([profile]));
      }
      // the gradient's bytes (and so every figure) are this profile's: pushed and pulled by 8 workers, plus the 8-byte pull requests
      const asks = readCsv(join(out, 'transfers.csv')).filter((t) => t.iteration === '0' && t.kind === 'pull');
      expect(asks.length).toBeGreaterThan(0);
      expect(Number(readCsv(join(out, 'iterations.csv'))[0].bytes)).toBe(Number(manifestOf(out).workload.gradient_bytes) * 2 * 8 + 8 * asks.length);
    }
  }, 120_000);

  it('--out X leaves an existing X.partial (another run\'s) alone', async () => {
    mkdirSync(join(dir.path, 'x.partial'));
    writeFileSync(join(dir.path, 'x.partial', 'theirs'), 'keep me');
    const r = await geobed(['run', QUICKSTART, '--iterations', '2', '--schedulers', 'star', '--out', 'x'], dir.path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(join(dir.path, 'x.partial', 'theirs'), 'utf8')).toBe('keep me');
    expect(manifestOf(join(dir.path, 'x')).status).toBe('complete');
  });

  it('Ctrl-C keeps the finished iterations: rows, a summary of them, and a manifest that says interrupted', async () => {
    const out = join(dir.path, 'stopped');
    const child = execa(process.execPath, [BIN, 'run', QUICKSTART, '--iterations', '1000000000', '--schedulers', 'star,ring', '--out', out], { reject: false });
    await waitFor(() => rowsIn(join(out, 'iterations.csv')) >= 5, 60_000);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toMatch(/^geobed: stopped by SIGINT; kept the (\d+) finished iteration\(s\) in .*stopped \(manifest status interrupted\)$/m);
    const kept = Number(/kept the (\d+) finished/.exec(r.stderr)![1]);
    const manifest = manifestOf(out);
    expect(manifest).toMatchObject({ status: 'interrupted', completed_iterations: { star: kept } });
    expect(readCsv(join(out, 'iterations.csv'))).toHaveLength(kept);
    const summary = readCsv(join(out, 'summary.csv'));
    expect(summary.map((s) => [s.scheduler, s.iterations])).toEqual([['star', String(kept)]]);
    expect(manifest.files).toEqual(expect.arrayContaining(['iterations.csv', 'summary.csv', 'manifest.json']));
  }, 90_000);

  it('a killed run (SIGKILL) keeps every row it wrote, and geobed summarize rebuilds its summary', async () => {
    const out = join(dir.path, 'killed');
    const child = execa(process.execPath, [BIN, 'run', QUICKSTART, '--iterations', '1000000000', '--out', out], { reject: false });
    await waitFor(() => rowsIn(join(out, 'iterations.csv')) >= 20, 60_000);
    child.kill('SIGKILL');
    await child;
    expect(manifestOf(out).status).toBe('running'); // what a crash leaves
    expect(existsSync(join(out, 'summary.csv'))).toBe(false);
    const rows = readCsv(join(out, 'iterations.csv'));
    expect(rows.length).toBeGreaterThanOrEqual(20);
    rows.forEach((row, i) => expect(Number(row.iteration)).toBe(i)); // whole rows, in order
    const s = await geobed(['summarize', out]);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`${rows.length} finished iterations, status interrupted \\(its process is gone: marked interrupted\\)`));
    const summary = readCsv(join(out, 'summary.csv'));
    expect(summary).toHaveLength(1);
    expect(Number(summary[0].iterations)).toBe(rows.length);
    const mean = rows.reduce((a, r) => a + Number(r.iteration_s), 0) / rows.length;
    expect(Number(summary[0].mean_s)).toBeCloseTo(mean, 5);
    expect(manifestOf(out)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/ended without finishing/), completed_iterations: { star: rows.length } });
  }, 90_000);

  it('summarize of a complete run reproduces its summary (to the CSV\'s microseconds)', async () => {
    const out = join(dir.path, 'whole');
    expect((await geobed(['run', QUICKSTART, '--out', out, '--schedulers', 'star,netstorm'])).exitCode).toBe(0);
    const before = readCsv(join(out, 'summary.csv'));
    const s = await geobed(['summarize', out]);
    expect(s.exitCode, s.stderr).toBe(0);
    const after = readCsv(join(out, 'summary.csv'));
    expect(after.map((r) => r.scheduler)).toEqual(['star', 'netstorm']);
    for (const [i, row] of after.entries()) {
      for (const col of ['mean_s', 'median_s', 'p95_s', 'ci95_low_s', 'ci95_high_s', 'bound_s', 'speedup_vs_star']) {
        expect(Math.abs(Number(row[col]) - Number(before[i][col])), col).toBeLessThan(1e-5);
      }
    }
    expect(manifestOf(out).status).toBe('complete');
  });

  it('a stall in the middle of a run keeps the iterations before it and names the links', async () => {
    // a->b drops to 0 for ever after 6 s: two 2-s iterations finish, then the simulator stalls
    writeFiles(dir.path, {
      'dying.yaml': scenarioText({
        links: 'links:\n  - between: [a, b]\n    bandwidth: { trace: dies.csv }\n  - between: [b, c]\n    bandwidth: 80',
        workload: 'workload: { gradient_mb: 8, compute_ms: 10 }',
        // 4 MB chunks, pipelined pulls: messages then wait in both directions
        schedulers: 'schedulers: [{ name: star, message: chunk, pull: pipelined }]',
      }),
      'dies.csv': 'time_s,mbps\n0,80\n6,0\n',
    });
    const r = await geobed(['run', 'dying.yaml', '--out', 'out'], dir.path);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^geobed: t: scheduler star \(1 of 1\): the simulation stalled at t=6\.\d+ s: messages wait on links at 0 Mbit\/s that do not recover \((b->a, a->b|a->b, b->a)\)$/m);
    expect(r.stderr).toMatch(/^geobed: kept the \d+ finished iteration\(s\) in out \(manifest status failed\)$/m);
    const rows = readCsv(join(dir.path, 'out', 'iterations.csv'));
    expect(rows.length).toBeGreaterThan(0);
    expect(manifestOf(join(dir.path, 'out'))).toMatchObject({ status: 'failed', error: expect.stringMatching(/stalled/) });
  });
});

describe('inputs that used to hang or crash', () => {
  const dir = useTempDir();

  for (const bin of ['0.1', '0.2', '0.001']) {
    it(`results.bin_s ${bin}: the run ends, and links.csv tiles the run with bins of ${bin} s`, async () => {
      writeFiles(dir.path, { 'b.yaml': readFileSync(QUICKSTART, 'utf8').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`) + `results: { bin_s: ${bin} }\n` });
      const r = await geobed(['run', 'b.yaml', '--iterations', '3', '--schedulers', 'star', '--out', 'out'], dir.path);
      expect(r.exitCode, r.stderr).toBe(0);
      const rows = readCsv(join(dir.path, 'out', 'links.csv')).filter((row) => row.link === 'fra->lon');
      const end = Number(readCsv(join(dir.path, 'out', 'iterations.csv')).at(-1)!.end_s);
      expect(rows.length).toBe(Math.ceil(end / Number(bin) - 1e-9));
      rows.forEach((row, i) => expect(Number(row.bin_start_s)).toBeCloseTo(i * Number(bin), 6));
      // the bins add up to the bytes the link carried at a 1 s bin
      const carried = (rs: Record<string, string>[]) => rs.reduce((a, row) => a + Number(row.carried_mbps) * Number(row.bin_s), 0);
      const one = await geobed(['run', QUICKSTART, '--iterations', '3', '--schedulers', 'star', '--out', join(dir.path, 'one')]);
      expect(one.exitCode).toBe(0);
      const reference = carried(readCsv(join(dir.path, 'one', 'links.csv')).filter((row) => row.link === 'fra->lon'));
      expect(Math.abs(carried(rows) - reference) / reference).toBeLessThan(1e-3);
    });
  }

  it('validate describes a 500-node full mesh (249,500 directed links), listing the first 50', async () => {
    const nodes = Array.from({ length: 500 }, (_, i) => `n${i}`).join(', ');
    writeFiles(dir.path, { 'big.yaml': `name: big\nnodes: [${nodes}]\nmesh: { bandwidth: 100 }\nworkload: { gradient_mb: 1, compute_ms: 10 }\nschedulers: [star]\n` });
    const r = await geobed(['validate', 'big.yaml'], dir.path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/big: 500 nodes \(500 workers\), 249500 directed links/);
    expect(r.stdout).toMatch(/\.\.\. and 249450 more directed links \(geobed validate --all lists every one\)/);
    expect(r.stdout.split('\n').filter((l) => /^\s+n\d+->n\d+/.test(l))).toHaveLength(50);
  });

  it('trace gen streams a million rows', async () => {
    const r = await geobed(['trace', 'gen', 'redraw-uniform', '--min-mbps', '1', '--max-mbps', '2', '--period-s', '0.1', '--seconds', '100000', '--out', join(dir.path, 't.csv')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(join(dir.path, 't.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 1_000_000);
  }, 60_000);
});

describe('the small things', () => {
  const dir = useTempDir();

  it('--version prints the package version', async () => {
    const r = await geobed(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version);
  });

  it('help fits a narrow terminal without breaking words', async () => {
    // a real terminal of 60 columns (script gives the command a pty)
    const r = await execa('script', ['-qec', `stty cols 60; ${process.execPath} ${BIN} run --help`, '/dev/null'], { reject: false });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.replace(/\r/g, '').split('\n');
    expect(lines.some((l) => /--calibration/.test(l))).toBe(true);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(60);
  });

  it('a simulated run of a lossy link warns that the simulator does not model loss, and the manifest says so', async () => {
    writeFiles(dir.path, { 'lossy.yaml': scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: 80\n    loss_percent: 100\n  - between: [b, c]\n    bandwidth: 10' }) });
    const r = await geobed(['run', 'lossy.yaml', '--out', 'out'], dir.path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^geobed: warning: the simulator does not model packet loss: a->b 100%, b->a 100% run as if lossless; use --mode emu for loss$/m);
    expect(manifestOf(join(dir.path, 'out')).warnings).toEqual([expect.stringMatching(/does not model packet loss/)]);
  });

  // Issue 25: jitter larger than the delay made an emulated run 8x the simulated one, and the simulator said nothing of jitter
  it('jitter larger than the delay is refused, naming the field; a simulated run of a jittery link warns that jitter is not modelled', async () => {
    writeFiles(dir.path, { 'wide.yaml': scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: 80\n    delay_ms: 2\n    jitter_ms: 16\n  - between: [b, c]\n    bandwidth: 10' }) });
    const wide = await geobed(['run', 'wide.yaml', '--out', 'wide'], dir.path);
    expect(wide.exitCode).toBe(2);
    expect(wide.stderr).toMatch(/^geobed: wide\.yaml:\d+: links\[0\]\.jitter_ms: jitter_ms \(16\) must not exceed delay_ms \(2\)/m);
    expect(existsSync(join(dir.path, 'wide'))).toBe(false);
    writeFiles(dir.path, { 'jit.yaml': scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: 80\n    delay_ms: 20\n    jitter_ms: 5\n  - between: [b, c]\n    bandwidth: 10' }) });
    const r = await geobed(['run', 'jit.yaml', '--out', 'out'], dir.path);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^geobed: warning: the simulator does not model jitter: a->b \+-5 ms, b->a \+-5 ms run with their delay_ms, jitter's mean; use --mode emu for jitter$/m);
  });

  it('a simulated training run repeats byte for byte with --calibration from the first', async () => {
    const first = join(dir.path, 'first'), again = join(dir.path, 'again');
    const a = await geobed(['run', TRAIN, '--iterations', '4', '--schedulers', 'star,ring', '--out', first]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/compute time calibrated on this machine: [\d.]+ ms per step; repeat these results byte for byte with --calibration .*first\/manifest\.json/);
    const b = await geobed(['run', TRAIN, '--iterations', '4', '--schedulers', 'star,ring', '--calibration', join(first, 'manifest.json'), '--out', again]);
    expect(b.exitCode, b.stderr).toBe(0);
    for (const f of ['iterations.csv', 'transfers.csv', 'links.csv', 'accuracy.csv', 'summary.csv']) {
      expect(readFileSync(join(again, f)).equals(readFileSync(join(first, f))), f).toBe(true);
    }
    expect(manifestOf(again).training.compute_source).toMatch(/--calibration/);
    const bad = await geobed(['run', TRAIN, '--calibration', join(dir.path, 'nope.json'), '--out', join(dir.path, 'never')]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^geobed: --calibration: .*nope\.json: cannot read calibration/m);
    expect(existsSync(join(dir.path, 'never'))).toBe(false);
  }, 180_000);

  it.skipIf(process.getuid?.() !== 0)('under sudo, the results belong to the user who ran sudo (root only: only root gives files away)', async () => {
    const out = join(dir.path, 'sudo');
    const r = await execa(process.execPath, [BIN, 'run', QUICKSTART, '--iterations', '2', '--schedulers', 'star', '--out', out], {
      reject: false, env: { SUDO_UID: '65534', SUDO_GID: '65534' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const f of ['', 'manifest.json', 'iterations.csv', 'summary.csv']) expect(statSync(join(out, f)).uid, f).toBe(65534);
  });
});
