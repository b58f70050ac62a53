/**
 * The command line as a user runs it: node bin/geobed.js (the built CLI).
 * `npm test` builds first, so these run the current code.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { parseTraceCsv } from '../../src/scenario/traces/csv.js';
import { ITERATION_COLUMNS, LINK_COLUMNS, SUMMARY_COLUMNS, TRANSFER_COLUMNS, columnsOf, iterationsTable, transfersTable } from '../../src/results/tables.js';
import { readCsv, useTempDir, writeFiles, scenarioText } from '../helpers.js';
import { SCHEDULER_NAMES } from '../../src/sync/schedulers/index.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const geobed = (args: string[], cwd = PACKAGE_ROOT) => execa('node', [BIN, ...args], { cwd, reject: false, env: { FORCE_COLOR: '0' } });
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');

describe('geobed CLI', () => {
  const dir = useTempDir();

  it('demo: compares the schedulers on the quickstart and writes every documented CSV', async () => {
    const out = join(dir.path, 'demo');
    const r = await geobed(['demo', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/scheduler\s+iters\s+mean s/);
    for (const name of SCHEDULER_NAMES) expect(r.stdout).toMatch(new RegExp(`^${name}\\s+20\\s`, 'm'));
    expect(readdirSync(out).sort()).toEqual(['iterations.csv', 'links.csv', 'manifest.json', 'summary.csv', 'transfers.csv']);
    const header = (f: string) => readFileSync(join(out, f), 'utf8').split('\n')[0].split(',');
    // (StellaTrain compresses: iterations.csv and transfers.csv say what the messages would have been uncompressed)
    expect(header('iterations.csv')).toEqual(columnsOf(iterationsTable(false, true)));
    expect(header('transfers.csv')).toEqual(columnsOf(transfersTable(false, true)));
    expect(ITERATION_COLUMNS.every((c) => header('iterations.csv').includes(c))).toBe(true);
    expect(TRANSFER_COLUMNS.every((c) => header('transfers.csv').includes(c))).toBe(true);
    expect(header('links.csv')).toEqual(LINK_COLUMNS);
    expect(header('summary.csv')).toEqual(SUMMARY_COLUMNS);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.mode).toBe('sim');
    expect(manifest.scenario.seed).toBe(7);
    expect(manifest.scenario.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.status).toBe('complete');
    // every row says which run it belongs to, so CSVs of many runs concatenate into one table
    const rows = readCsv(join(out, 'iterations.csv'));
    for (const r of rows) expect([r.scenario, r.mode, r.profile, r.seed]).toEqual(['quickstart', 'sim', 'custom', '7']);
    // per scheduler, iteration times add up to the run, and no iteration beats the network's lower bound
    for (const name of SCHEDULER_NAMES) {
      const mine = rows.filter((r) => r.scheduler === name);
      expect(mine).toHaveLength(20);
      expect(mine.reduce((s, r) => s + Number(r.iteration_s), 0)).toBeCloseTo(Number(mine[mine.length - 1].end_s), 4);
      // (the bound moves the whole fp32 gradient: a scheduler that compresses may beat it)
      if (name !== 'stellatrain') for (const row of mine) expect(Number(row.iteration_s)).toBeGreaterThanOrEqual(Number(row.bound_s));
    }
    const summary = readCsv(join(out, 'summary.csv'));
    expect(summary.map((r) => r.scheduler)).toEqual(SCHEDULER_NAMES);
    expect([summary[0].speedup_vs_star, summary[0].speedup_ci95_low, summary[0].speedup_ci95_high]).toEqual(['1.0000', '1.0000', '1.0000']); // star against itself
  });

  it('the paper\'s testbed (relay underlay, every baseline as its code runs it): no iteration beats the network\'s lower bound', async () => {
    const out = join(dir.path, 'paper');
    const r = await geobed(['run', join(PACKAGE_ROOT, 'scenarios', 'netstorm-paper.yaml'), '--iterations', '3', '--profile', 'resnet50', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = readCsv(join(out, 'iterations.csv'));
    const labels = [...new Set(rows.map((row) => row.scheduler))];
    expect(labels).toEqual(['mxnet', 'mlnet', 'tsengine', 'netstorm-fapt', 'netstorm-aware', 'netstorm']);
    for (const row of rows) expect(Number(row.iteration_s), row.scheduler).toBeGreaterThanOrEqual(Number(row.bound_s));
    // relayed: every message crosses one link
    const links = new Set(readCsv(join(out, 'links.csv')).map((l) => l.link));
    expect(links.size).toBe(26);
    for (const t of readCsv(join(out, 'transfers.csv'))) if (t.from !== t.to) expect(links.has(`${t.from}->${t.to}`), `${t.from}->${t.to}`).toBe(true);
  }, 120_000);

  it('delay and loss over time: links.csv has the delay and loss in force per bin, and the simulator follows the delay', async () => {
    const scenario = (delay: string) => [
      'name: over-time', 'iterations: 6', 'nodes: [a, b]',
      'links:', '  - between: [a, b]', '    bandwidth: 100', `    delay_ms: ${delay}`,
      '    loss_percent: { generator: steps, percent: [0, 4], period_s: 1 }',
      'workload: { gradient_mb: 1, compute_ms: 200 }', 'schedulers: [star]', 'results: { bin_s: 1 }',
    ].join('\n');
    writeFiles(dir.path, {
      'varying.yaml': scenario('{ generator: steps, ms: [10, 30], period_s: 0.5 }'),
      'constant.yaml': scenario('10'),
    });
    const varying = join(dir.path, 'varying'), constant = join(dir.path, 'constant');
    const r = await geobed(['run', join(dir.path, 'varying.yaml'), '--out', varying]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the simulator does not model packet loss: a->b generator steps/);
    expect((await geobed(['run', join(dir.path, 'constant.yaml'), '--out', constant])).exitCode).toBe(0);
    const rows = readCsv(join(varying, 'links.csv')).filter((row) => row.link === 'a->b');
    expect(rows.length).toBeGreaterThan(2);
    // each 1 s bin: half of it at 10 ms, half at 30 ms; the loss alternates bin by bin
    for (const row of rows.filter((x) => x.bin_s === '1.000000')) expect(row.delay_ms).toBe('20.000');
    expect(rows.slice(0, 3).map((x) => x.loss_percent)).toEqual(['0.000', '4.000', '0.000']);
    expect(readCsv(join(constant, 'links.csv'))[0].delay_ms).toBe('10.000');
    // messages that leave in a 30 ms half-second arrive 20 ms later than at 10 ms throughout
    const transfers = (out: string) => readCsv(join(out, 'transfers.csv'));
    const slower = transfers(varying).map((t, i) => Number(t.delivered_s) - Number(transfers(constant)[i].delivered_s));
    expect(slower.some((d) => Math.abs(d - 0.02) < 1e-6)).toBe(true);
    expect(slower.every((d) => d > -1e-9)).toBe(true);
    const manifest = JSON.parse(readFileSync(join(varying, 'manifest.json'), 'utf8'));
    expect(manifest.links[0]).toMatchObject({ delay_ms: 'generator steps', loss_percent: 'generator steps' });
  });

  it('the same seed writes byte-identical CSVs; another seed changes them', async () => {
    const runs = ['a', 'b', 'c'].map((n) => join(dir.path, n));
    await geobed(['run', QUICKSTART, '--out', runs[0]]);
    await geobed(['run', QUICKSTART, '--out', runs[1]]);
    await geobed(['run', QUICKSTART, '--seed', '8', '--out', runs[2]]);
    for (const f of ['iterations.csv', 'transfers.csv', 'links.csv', 'summary.csv']) {
      expect(readFileSync(join(runs[0], f)).equals(readFileSync(join(runs[1], f))), f).toBe(true);
    }
    expect(readFileSync(join(runs[0], 'links.csv'), 'utf8')).not.toBe(readFileSync(join(runs[2], 'links.csv'), 'utf8'));
  });

  it('run --iterations and --schedulers override the scenario', async () => {
    const out = join(dir.path, 'short');
    const r = await geobed(['run', QUICKSTART, '--iterations', '3', '--schedulers', 'star', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readCsv(join(out, 'iterations.csv'))).toHaveLength(3);
  });

  it('a bad scenario: exit 2, one clear line per problem, no stack trace, nothing created', async () => {
    writeFiles(dir.path, { 'bad.yaml': scenarioText({ nodes: 'nodes: [a, b]' }) });
    const out = join(dir.path, 'never');
    const r = await geobed(['run', 'bad.yaml', '--out', out], dir.path);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^geobed: bad\.yaml:8: links\[1\]\.between\[1\]: unknown node "c"; nodes are a, b$/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir.path)).toEqual(['bad.yaml']);
  });

  it('a run that cannot finish (a link at 0 for ever) exits 2 and leaves no results', async () => {
    writeFiles(dir.path, { 'dead.yaml': scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: 0\n  - between: [b, c]\n    bandwidth: 10' }) });
    const r = await geobed(['run', 'dead.yaml', '--out', 'out'], dir.path);
    expect(r.exitCode).toBe(2);
    // (the flows wait on their own route, b->a, and on the route back of their ACKs, a->b)
    expect(r.stderr).toMatch(/stalled.*links at 0 Mbit\/s that do not recover \(b->a, a->b\)/);
    expect(readdirSync(dir.path)).toEqual(['dead.yaml']);
  });

  it('unknown flags, schedulers, modes and files are user errors (exit 2)', async () => {
    for (const args of [
      ['run', QUICKSTART, '--bogus'],
      ['run', QUICKSTART, '--schedulers', 'warp'],
      ['run', QUICKSTART, '--mode', 'warp'],
      ['run', QUICKSTART, '--iterations', '0'],
      ['run', 'missing.yaml'],
      ['frobnicate'],
    ]) {
      const r = await geobed([...args, ...(args[0] === 'run' ? ['--out', join(dir.path, 'x')] : [])]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^geobed: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(dir.path, 'x'))).toBe(false);
  });

  it('validate describes a good scenario; schema prints the JSON Schema', async () => {
    const v = await geobed(['validate', QUICKSTART]);
    expect(v.exitCode).toBe(0);
    expect(v.stdout).toMatch(/quickstart: 4 nodes \(4 workers\), 10 directed links/);
    const s = await geobed(['schema']);
    expect(JSON.parse(s.stdout).properties.links).toBeDefined();
  });

  it('trace gen | convert | show', async () => {
    const gen = await geobed(['trace', 'gen', 'redraw-uniform', '--min-mbps', '20', '--max-mbps', '155', '--period-s', '10', '--seconds', '100', '--seed', '3']);
    expect(gen.exitCode, gen.stderr).toBe(0);
    const table = parseTraceCsv(gen.stdout, 'stdout');
    expect(table.times).toHaveLength(10);
    expect(Math.min(...table.mbps)).toBeGreaterThanOrEqual(20);

    const missing = await geobed(['trace', 'gen', 'redraw-uniform', '--min-mbps', '20']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/--max-mbps: missing/);

    writeFiles(dir.path, { 'cell.trace': Array.from({ length: 2000 }, (_, i) => String(i + 1)).join('\n') });
    const conv = await geobed(['trace', 'convert', 'cell.trace', '--bin-ms', '500', '--out', 'cell.csv'], dir.path);
    expect(conv.exitCode, conv.stderr).toBe(0);
    const converted = parseTraceCsv(readFileSync(join(dir.path, 'cell.csv'), 'utf8'), 'cell.csv');
    expect(readFileSync(join(dir.path, 'cell.csv'), 'utf8')).toMatch(/^# cell\.trace: .*one 1500-byte IP packet\) as a 1514-byte Ethernet frame/);
    expect(converted.mbps).toEqual([12.112, 12.112, 12.112, 12.112]); // Mahimahi's "12 Mbit/s" trace: 12 Mbit/s of IP packets, as frames

    const show = await geobed(['trace', 'show', 'cell.csv'], dir.path);
    expect(show.exitCode).toBe(0);
    expect(show.stdout).toMatch(/min 12\.112\s+mean 12\.112\s+max 12\.112/);
    const bad = await geobed(['trace', 'show', 'cell.trace'], dir.path);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/cell\.trace:1: expected the header "time_s,mbps"/);
  });
});
