/**
 * Every scheduler with several workers per data center (simulated): every
 * worker ends every iteration with the plain sum, and the bytes on the LAN
 * and the WAN are what each scheduler's way of working says, worked out by
 * hand (docs/schedulers.md, "Data centers with several workers").
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { runScenario } from '../../src/run/run.js';
import { expectPlainSums, SUMMING_SCHEDULERS } from '../plain-sums.js';
import { readCsv, useTempDir, writeFiles } from '../helpers.js';
import { folderPlots } from '../../src/report/plot-folder.js';
import { readFileSync } from 'node:fs';
import { rebuildSummary } from '../../src/results/rebuild.js';
import { compareGroups, groupRuns } from '../../src/report/compare.js';
import { readFolders } from '../../src/report/folders.js';
import { displayColumns } from '../../src/report/tabular.js';

/** A line a - b - c of data centers with 2, 2 and 3 workers; 175,000 elements (a multiple of the ring's 7 members), two arrays. */
const text = (schedulers: string, extra: string[] = []) => [
  'name: dcs', 'seed: 6', 'iterations: 3',
  'nodes: [a, b, { name: c, workers: 3 }]',
  'node_defaults: { workers: 2, lan: { bandwidth: 1000, delay_ms: 0.1 } }',
  'links:', '  - between: [a, b]', '    bandwidth: { generator: redraw-uniform, min_mbps: 20, max_mbps: 155, period_s: 1 }', '    delay_ms: 5',
  '  - between: [b, c]', '    bandwidth: 80', '    delay_ms: 8',
  'workload: { gradient_mb: 0.7, compute_ms: 40 }',
  `schedulers: ${schedulers}`, ...extra,
].join('\n');

const M = 700_000; // model bytes
const DCS = 3;
const WORKERS = 7;

describe('every scheduler over data centers with 2, 2 and 3 workers', () => {
  const schedulers = `[${SUMMING_SCHEDULERS.join(', ')}, { name: star, label: star-all, servers: all }]`;
  const scenario = parseScenario(text(schedulers), 'dcs.yaml');
  const relayed = parseScenario(text(schedulers, ['network: { underlay: relay }']), 'dcs.yaml');
  for (const s of [scenario, relayed]) {
    s.results.transfers = false;
    for (const config of s.schedulers) {
      it(`${config.label}${s === relayed ? ' (relay underlay)' : ''}: every worker ends every iteration with the plain sum of all seven`, () => {
        const run = simulate(s, config, { values: true });
        expect([...run.workers.keys()].sort()).toEqual([...s.workers].sort());
        expectPlainSums(s, run);
        for (const r of run.iterations) expect(r.lanBytes! + r.wanBytes!).toBe(r.bytes);
      });
    }
  }

  const run = (label: string) => simulate(scenario, scenario.schedulers.find((s) => s.label === label)!);

  for (const label of ['mlnet', 'netstorm', 'tsengine']) {
    it(`${label} works over data centers: each worker's gradient to its data center and back on the LAN, the WAN carries what one worker per data center would`, () => {
      for (const r of run(label).iterations) {
        expect(r.lanBytes).toBe(2 * WORKERS * M);
        expect(r.wanBytes).toBe(2 * (DCS - 1) * M);
      }
    });
  }

  it('star (one server, at a) works over workers: every worker pushes to it, asks key by key and pulls', () => {
    const keys = scenario.workload.arrays.length;
    const perWorker = 2 * M + 8 * keys; // push, pull requests (8 bytes a key), the final values
    for (const r of run('star').iterations) {
      expect(r.lanBytes).toBe(2 * perWorker); // a's two workers
      expect(r.wanBytes).toBe(5 * perWorker); // b's and c's five
    }
  });

  it('ring works over workers, each data center\'s consecutively: 3 of its 7 edges cross the WAN, each carrying the same', () => {
    for (const r of run('ring').iterations) {
      expect(r.bytes).toBe(7 * 2 * 6 * (M / 7)); // seven members, each sends 2(n-1) segments of M/n
      expect(r.wanBytes! * 7).toBe(r.bytes * 3);
    }
  });

  it('a straggler: the iteration waits for the slowest worker\'s compute', () => {
    const s = parseScenario(text('[ring]').replace('nodes: [a, b, { name: c, workers: 3 }]', 'nodes: [{ name: a, compute_ms: [40, 400] }, b, { name: c, workers: 3 }]'), 'dcs.yaml');
    const r = simulate(s, s.schedulers[0]).iterations;
    for (const i of r) expect(i.compute).toBeCloseTo(0.4, 9);
    expect(r[0].end).toBeGreaterThan(0.4);
  });
});

describe('results of data centers with several workers', () => {
  const tmp = useTempDir();
  it('iterations.csv, transfers.csv and traffic.csv count LAN and WAN bytes apart (a run without LANs keeps its columns)', async () => {
    writeFiles(tmp.path, { 'dcs.yaml': text('[mlnet]'), 'one.yaml': text('[mlnet]').replace('node_defaults: { workers: 2, lan: { bandwidth: 1000, delay_ms: 0.1 } }', '').replace('{ name: c, workers: 3 }', 'c') });
    const several = await runScenario(loadScenario(join(tmp.path, 'dcs.yaml')), { mode: 'sim', out: join(tmp.path, 'r1') });
    const rows = readCsv(join(several.dir, 'iterations.csv'));
    expect(Object.keys(rows[0])).toEqual(expect.arrayContaining(['bytes', 'lan_bytes', 'wan_bytes']));
    for (const row of rows) {
      expect(Number(row.lan_bytes)).toBe(2 * WORKERS * M);
      expect(Number(row.wan_bytes)).toBe(2 * (DCS - 1) * M);
    }
    // transfers.csv says which network each message crossed; traffic.csv (geobed plot) counts them per iteration
    const transfers = readCsv(join(several.dir, 'transfers.csv'));
    const sum = (network: string, iteration: string) => transfers.filter((t) => t.network === network && t.iteration === iteration).reduce((n, t) => n + Number(t.bytes), 0);
    expect(new Set(transfers.map((t) => t.network))).toEqual(new Set(['lan', 'wan']));
    for (const row of rows) expect([sum('lan', row.iteration), sum('wan', row.iteration)]).toEqual([Number(row.lan_bytes), Number(row.wan_bytes)]);
    expect(folderPlots(several.dir).length).toBeGreaterThan(0);
    const traffic = readCsv(join(several.dir, 'traffic.csv')).filter((r) => r.measure === 'network_bytes');
    expect(traffic.filter((r) => r.x === '0').map((r) => [r.subject, Number(r.value)])).toEqual([['lan', 2 * WORKERS * M], ['wan', 2 * (DCS - 1) * M]]);
    const one = await runScenario(loadScenario(join(tmp.path, 'one.yaml')), { mode: 'sim', out: join(tmp.path, 'r2') });
    const plain = readCsv(join(one.dir, 'iterations.csv'));
    expect(Object.keys(plain[0])).not.toContain('lan_bytes');
    expect(Number(plain[0].bytes)).toBe(2 * (DCS - 1) * M);
    expect(Object.keys(readCsv(join(one.dir, 'transfers.csv'))[0])).not.toContain('network');
    // summary.csv: LAN and WAN megabytes per iteration (a run without LANs keeps its columns); geobed summarize and compare alike
    const summary = readCsv(join(several.dir, 'summary.csv'))[0];
    expect([Number(summary.lan_mb_per_iteration), Number(summary.wan_mb_per_iteration)]).toEqual([(2 * WORKERS * M) / 1e6, (2 * (DCS - 1) * M) / 1e6]);
    expect(Object.keys(readCsv(join(one.dir, 'summary.csv'))[0])).not.toContain('wan_mb_per_iteration');
    const written = readFileSync(join(several.dir, 'summary.csv'), 'utf8');
    await rebuildSummary(several.dir);
    expect(readFileSync(join(several.dir, 'summary.csv'), 'utf8')).toBe(written);
    const compared = compareGroups(groupRuns(readFolders([several.dir])));
    expect(compared[0].wanMb).toBeCloseTo((2 * (DCS - 1) * M) / 1e6, 9);
    expect(displayColumns(compared).map(([h]) => h)).toContain('WAN MB / iteration');
    expect(displayColumns(compareGroups(groupRuns(readFolders([one.dir])))).map(([h]) => h)).not.toContain('WAN MB / iteration');
  });

  it('the network\'s lower bound holds with stragglers: the late worker\'s own compute, and the longest for the first iteration', async () => {
    writeFiles(tmp.path, { 'slow.yaml': text('[ring, mlnet, star]').replace('nodes: [a, b, { name: c, workers: 3 }]', 'nodes: [{ name: a, compute_ms: [40, 400] }, b, { name: c, workers: 3 }]') });
    const out = await runScenario(loadScenario(join(tmp.path, 'slow.yaml')), { mode: 'sim', out: join(tmp.path, 'r3') });
    const rows = readCsv(join(out.dir, 'iterations.csv'));
    expect(rows).toHaveLength(9);
    for (const row of rows) expect(Number(row.bound_s)).toBeLessThanOrEqual(Number(row.iteration_s));
    for (const row of rows.filter((r) => r.iteration === '0')) expect(Number(row.bound_s)).toBeGreaterThanOrEqual(0.4);
  });
});
