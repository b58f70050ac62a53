/**
 * Emulated runs end to end (root; CI runs as root): every scheduler on the
 * quickstart with real values summed, and nothing left behind after a
 * normal end, Ctrl-C, or a dead agent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadScenario } from '../../src/scenario/load.js';
import { SCHEDULER_NAMES } from '../../src/scenario/schema.js';
import { emulate } from '../../src/run/emulate.js';
import { listNamespaces } from '../../src/net/emu/exec.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { expectPlainSums } from '../plain-sums.js';
import { useTempDir, writeFiles, scenarioText } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');

/** The quickstart with a one-way delay of 20, 40, 60, 80 and 20 ms on its five links. */
function QUICKSTART_WITH_DELAYS() {
  const scenario = loadScenario(QUICKSTART, { iterations: 2, schedulers: [...SCHEDULER_NAMES] });
  const delays = [0.02, 0.04, 0.06, 0.08, 0.02];
  const links = scenario.links.map((l) => ({ ...l, delayS: delays[Math.floor(l.id / 2)] }));
  return { ...scenario, links };
}

async function leftovers() {
  const namespaces = (await listNamespaces()).filter((n) => n.startsWith('gb-'));
  const agents = (await execa('pgrep', ['-f', 'emu/agent-main.js|geobed-linkem'], { reject: false })).stdout.trim();
  return { namespaces, agents };
}

async function waitFor(test: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

afterEach(async () => {
  expect(await leftovers()).toEqual({ namespaces: [], agents: '' });
});

describe.skipIf(!isRoot)('emulated runs (root)', () => {
  const scenario = loadScenario(QUICKSTART, { iterations: 2, schedulers: [...SCHEDULER_NAMES] });
  for (const config of scenario.schedulers) {
    it(`${config.label}: every worker ends every iteration with the plain sum, over real TCP`, async () => {
      const run = await emulate(scenario, config, { values: true, timeoutS: 60 });
      expect(run.iterations).toHaveLength(2);
      expectPlainSums(scenario, run);
      // the trace player changed rates in place while the run went on
      expect(run.rateChanges.length).toBeGreaterThan(0);
      for (const c of run.rateChanges) expect(c.appliedS - c.scheduledS).toBeLessThan(0.1);
      // the links that were busy carried what their traces allowed (the host kept up)
      const busy = run.fidelity.filter((f) => f.busyS > 0);
      expect(busy.length).toBeGreaterThan(0);
      for (const f of busy) expect(f.ratio).toBeGreaterThan(0.9);
    });
  }

  it('a test that fails on purpose leaves no namespace, link or process behind', async () => {
    const config = join(PACKAGE_ROOT, 'test', 'emu', 'fixtures', 'vitest.config.ts');
    const r = await execa('npx', ['vitest', 'run', '--config', config], { cwd: PACKAGE_ROOT, reject: false, env: { CI: 'true', FORCE_COLOR: '0' } });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/1 failed/);
    expect(await leftovers()).toEqual({ namespaces: [], agents: '' });
    expect((await execa('pgrep', ['-f', 'tc -n gb-'], { reject: false })).stdout.trim()).toBe('');
  });

  it('Ctrl-C (SIGINT) during a run removes every namespace and agent', async () => {
    const child = execa('node', [BIN, 'run', QUICKSTART, '--mode', 'emu', '--iterations', '100', '--out', '/tmp/geobed-never'], { reject: false });
    await waitFor(async () => (await execa('pgrep', ['-f', 'emu/agent-main.js'], { reject: false })).stdout.trim().split('\n').length >= 4, 20_000);
    child.kill('SIGINT');
    const r = await child;
    expect(r.signal ?? r.exitCode).toBeTruthy();
    expect(await leftovers()).toEqual({ namespaces: [], agents: '' });
  });

  it('a dead agent fails the run with a clear message and nothing left behind', async () => {
    const child = execa('node', [BIN, 'run', QUICKSTART, '--mode', 'emu', '--iterations', '100', '--out', '/tmp/geobed-never'], { reject: false });
    await waitFor(async () => (await execa('pgrep', ['-f', 'emu/agent-main.js'], { reject: false })).stdout.trim().split('\n').length >= 4, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    const pid = (await execa('pgrep', ['-f', 'emu/agent-main.js'])).stdout.trim().split('\n')[0];
    process.kill(Number(pid), 'SIGKILL');
    const r = await child;
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^geobed: the emulated run failed: the agent of \w+ exited \(SIGKILL\)/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe.skipIf(!isRoot)('emulated runs with delay', () => {
  const dir = useTempDir();
  it('--links kernel with delay and no netem stops before creating anything, naming the native link emulator', async () => {
    writeFiles(dir.path, { 's.yaml': scenarioText() }); // b-c has 5 ms of delay
    const before = await listNamespaces().catch(() => []);
    const r = await execa('node', [BIN, 'run', 's.yaml', '--mode', 'emu', '--links', 'kernel', '--out', 'out'], { cwd: dir.path, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/b->c, c->b ask for delay or loss.*--links native/);
    expect(await listNamespaces().catch(() => [])).toEqual(before);
  });

  it('Ctrl-C during a run on the native link emulator removes every namespace, agent and the emulator', async () => {
    writeFiles(dir.path, { 'delayed.yaml': readFileSync(QUICKSTART, 'utf8').replace('delay_ms: 0', 'delay_ms: 30').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`) });
    const child = execa('node', [BIN, 'run', 'delayed.yaml', '--mode', 'emu', '--iterations', '100', '--out', 'never'], { cwd: dir.path, reject: false });
    await waitFor(async () => (await execa('pgrep', ['-f', 'emu/agent-main.js'], { reject: false })).stdout.trim().split('\n').length >= 4, 20_000);
    expect((await execa('pgrep', ['-f', 'geobed-linkem'], { reject: false })).stdout.trim()).not.toBe('');
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    const r = await child;
    expect(r.signal ?? r.exitCode).toBeTruthy();
    expect(await leftovers()).toEqual({ namespaces: [], agents: '' });
  });

  // 20-80 ms one-way delays on the quickstart's links: the native link emulator carries them.
  const delayed = QUICKSTART_WITH_DELAYS();
  for (const config of delayed.schedulers) {
    it(`${config.label} runs the quickstart with 20-80 ms delays on the native link emulator, every worker ending on the plain sum`, async () => {
      const run = await emulate(delayed, config, { values: true, timeoutS: 90 });
      expect(run.links).toBe('native');
      expect(run.iterations).toHaveLength(2);
      expectPlainSums(delayed, run);
      // every message took at least its route's delay
      for (const t of run.transfers) if (t.from !== t.to) expect(t.deliveredAt - t.sentAt).toBeGreaterThan(0.02);
    }, 120_000);
  }
});
