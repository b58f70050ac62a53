/**
 * `geobed decompose`: every step is the scenario simulated with exactly the
 * options that step says, and the table and CSV report them.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { decompose, FACTORS, configAtStep } from '../../src/run/decompose.js';
import { simulate } from '../../src/run/simulate.js';
import { loadScenario } from '../../src/scenario/load.js';
import { iterationTimes } from '../../src/results/summary.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readCsv, useTempDir, writeFiles } from '../helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');

// a triangle with a spur d: d reaches the others only through c
const TEXT = `name: dec
seed: 1
iterations: 3
nodes: [a, b, c, d]
links:
  - between: [a, b]
    bandwidth: { generator: redraw-uniform, min_mbps: 20, max_mbps: 155, period_s: 2 }
  - between: [b, c]
    bandwidth: 60
  - between: [a, c]
    bandwidth: 40
  - between: [c, d]
    bandwidth: 80
workload: { gradient_mb: 12, compute_ms: 50 }
schedulers:
  - { name: star, servers: all }
  - tsengine
  - netstorm
`;

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('decompose', () => {
  const dir = useTempDir();

  it('step 0 runs every idealisation on the IP underlay, the last step the code\'s defaults on the relay underlay', () => {
    writeFiles(dir.path, { 'dec.yaml': TEXT });
    const file = join(dir.path, 'dec.yaml');
    const rows = decompose(file, { seeds: [1, 2] });
    expect(rows).toHaveLength((FACTORS.length + 1) * 3);
    expect([...new Set(rows.map((r) => r.factor))]).toEqual(['idealised', ...FACTORS.map((f) => f.id)]);
    for (const seed of [1, 2]) expect(loadScenario(file, { seed }).seed).toBe(seed);
    const byHand = (step: number, underlay: 'ip' | 'relay') => (label: string) => {
      const runs = [1, 2].map((seed) => {
        const scenario = loadScenario(file, { seed });
        const config = scenario.schedulers.find((c) => c.label === label)!;
        return mean(iterationTimes(simulate({ ...scenario, network: { ...scenario.network, underlay } }, configAtStep(config, step))));
      });
      return mean(runs);
    };
    for (const label of ['star', 'tsengine', 'netstorm']) {
      const first = rows.find((r) => r.step === 0 && r.scheduler === label)!;
      const last = rows.find((r) => r.step === FACTORS.length && r.scheduler === label)!;
      expect(first.meanS, label).toBeCloseTo(byHand(0, 'ip')(label), 12);
      expect(last.meanS, label).toBeCloseTo(byHand(FACTORS.length, 'relay')(label), 12);
      expect(last.seeds).toBe(2);
    }
    // step 0 is the idealised options; the last step the code's defaults, the scenario's own settings kept
    const config = loadScenario(file).schedulers;
    expect(configAtStep(config[0], 0)).toMatchObject({ servers: 'all', message: 'chunk', pull: 'pipelined' });
    expect(configAtStep(config[0], FACTORS.length)).toEqual(config[0]);
    expect(configAtStep(config[2], FACTORS.length)).toEqual(config[2]);
    // the baseline's speedup is 1; the others' the ratio of the means
    const star0 = rows.find((r) => r.step === 0 && r.scheduler === 'star')!;
    const ns0 = rows.find((r) => r.step === 0 && r.scheduler === 'netstorm')!;
    expect(star0.speedup).toBe(1);
    expect(ns0.speedup).toBeCloseTo(star0.meanS / ns0.meanS, 12);
  });

  it('the command writes decomposition.csv and .md and prints the table', async () => {
    writeFiles(dir.path, { 'dec.yaml': TEXT });
    const r = await execa(process.execPath, [BIN, 'decompose', 'dec.yaml', '--seeds', '2', '--out', 'out'], { cwd: dir.path, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = readCsv(join(dir.path, 'out', 'decomposition.csv'));
    expect(Object.keys(rows[0])).toEqual(['step', 'factor', 'scheduler', 'seeds', 'mean_s', 'ci95_low', 'ci95_high', 'speedup', 'speedup_ci95_low', 'speedup_ci95_high']);
    expect(rows).toHaveLength((FACTORS.length + 1) * 3);
    expect(existsSync(join(dir.path, 'out', 'decomposition.md'))).toBe(true);
    expect(readFileSync(join(dir.path, 'out', 'decomposition.md'), 'utf8')).toContain('| step | star | tsengine | netstorm |');
    expect(r.stdout).toMatch(/relay underlay/);
  });
});
