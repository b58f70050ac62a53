/**
 * Emulated runs end to end (root; CI runs as root): every scheduler on the
 * quickstart with real values summed, and nothing left behind after a
 * normal end, Ctrl-C, or a dead agent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { loadScenario } from '../../src/scenario/load.js';
import { emulate } from '../../src/run/emulate.js';
import { listNamespaces } from '../../src/net/emu/exec.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { expectPlainSums, SUMMING_SCHEDULERS } from '../plain-sums.js';
import { assertFiguresOnlyIfHostKeptUp, hostProblems } from './emu-helpers.js';
import { readCsv, useTempDir, writeFiles, scenarioText } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');

/** The quickstart with a one-way delay of 20, 40, 60, 80 and 20 ms on its five links. */
function QUICKSTART_WITH_DELAYS() {
  const scenario = loadScenario(QUICKSTART, { iterations: 2, schedulers: [...SUMMING_SCHEDULERS] });
  const delays = [0.02, 0.04, 0.06, 0.08, 0.02];
  const links = scenario.links.map((l) => ({ ...l, delayS: delays[Math.floor(l.id / 2)] }));
  return { ...scenario, links };
}

async function leftovers() {
  const namespaces = (await listNamespaces()).filter((n) => n.startsWith('gb-'));
  const agents = (await execa('pgrep', ['-f', 'run/agent-process.js|geobed-linkem'], { reject: false })).stdout.trim();
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

/** The quickstart at a quarter of its rates (the same traces and shape): a 2-core host emulates it with CPU to spare, so its links' figures can be judged in CI. */
const QUARTER = join(PACKAGE_ROOT, 'test', 'emu', 'fixtures', 'quickstart-quarter', 'scenario.yaml');

describe.skipIf(!isRoot)('emulated runs (root)', () => {
  const scratch = useTempDir();
  const scenario = loadScenario(QUARTER, { iterations: 2, schedulers: [...SUMMING_SCHEDULERS] });
  for (const config of scenario.schedulers) {
    it(`${config.label}: every worker ends every iteration with the plain sum, over real TCP`, async (ctx) => {
      const run = await emulate(scenario, config, { values: true, timeoutS: 60 });
      expect(run.iterations).toHaveLength(2);
      expectPlainSums(scenario, run);
      // the trace player changed rates in place while the run went on, at the traces' times:
      // late only by as much as the runner's event loop was held up (the host's share, measured in the run)
      expect(run.linkChanges.length).toBeGreaterThan(0);
      const end = run.iterations.at(-1)!.end;
      for (const link of scenario.links) {
        const due: number[] = [];
        for (let t = link.trace.nextChangeAfter(0); t < end - 0.5; t = link.trace.nextChangeAfter(t)) due.push(t);
        const applied = run.linkChanges.filter((c) => c.link === link.name).map((c) => c.scheduledS);
        expect(applied.slice(0, due.length), link.name).toEqual(due);
      }
      for (const c of run.linkChanges) {
        expect(c.appliedS).toBeGreaterThan(c.scheduledS - 0.002); // (Node's timers count whole ms: one may fire a fraction early)
        expect(c.appliedS - c.scheduledS).toBeLessThan(run.loopDelayMaxMs / 1000 + 0.03);
      }
      // the links that were busy carried what their traces allowed: a measurement, asserted when the run's
      // own check says the host gave the run what it needed (CPUs, the agents' CPU and timers)
      expect(run.fidelity.filter((f) => f.busyS > 0).length).toBeGreaterThan(0);
      assertFiguresOnlyIfHostKeptUp(ctx, `${config.label}: carried/allowed`, hostProblems(run.health));
      for (const f of run.fidelity.filter((f) => f.busyS > 0)) expect(f.ratio, scenario.links[f.link].name).toBeGreaterThan(0.9);
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
    const out = join(scratch.path, 'stopped');
    const child = execa('node', [BIN, 'run', QUICKSTART, '--mode', 'emu', '--iterations', '100', '--out', out], { reject: false });
    await waitFor(async () => (await execa('pgrep', ['-f', 'run/agent-process.js'], { reject: false })).stdout.trim().split('\n').length >= 4, 20_000);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toMatch(/^geobed: stopped by SIGINT; /m);
    expect(await leftovers()).toEqual({ namespaces: [], agents: '' });
  });

  // Issue 25: signals to npx ended npx (exit 143) while geobed ran on, an orphan holding its namespaces
  for (const [how, command, args] of [
    ['geobed (as `npm link` puts it on the PATH)', 'node', [BIN]],
    ['npx geobed (npx does not pass it on: geobed follows npx)', 'npx', ['--yes', 'geobed']],
  ] as const) {
    it(`SIGTERM to ${how} ends the run cleanly: nothing left, finished iterations kept`, async () => {
      const out = join(scratch.path, `term-${command}`);
      const child = execa(command, [...args, 'run', QUICKSTART, '--mode', 'emu', '--iterations', '100', '--schedulers', 'star', '--out', out], { cwd: PACKAGE_ROOT, reject: false });
      // (npx's first start in a fresh clone builds the package: allow for it)
      await waitFor(async () => existsSync(join(out, 'iterations.csv')) && readCsv(join(out, 'iterations.csv')).length >= 1, 90_000);
      child.kill('SIGTERM');
      await child;
      await waitFor(async () => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).status !== 'running', 30_000);
      await waitFor(async () => (await execa('pgrep', ['-f', `--out ${out}`], { reject: false })).stdout.trim() === '', 30_000);
      expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).status).toBe('interrupted');
      expect(await leftovers()).toEqual({ namespaces: [], agents: '' });
    }, 150_000);
  }

  it('a dead agent fails the run with a clear message and nothing left behind', async () => {
    const out = join(scratch.path, 'dead');
    const child = execa('node', [BIN, 'run', QUICKSTART, '--mode', 'emu', '--iterations', '100', '--out', out], { reject: false });
    await waitFor(async () => (await execa('pgrep', ['-f', 'run/agent-process.js'], { reject: false })).stdout.trim().split('\n').length >= 4, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    const pid = (await execa('pgrep', ['-f', 'run/agent-process.js'])).stdout.trim().split('\n')[0];
    process.kill(Number(pid), 'SIGKILL');
    const r = await child;
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^geobed: quickstart: scheduler star \(1 of 1\): the agent of \w+ exited \(SIGKILL\) before the run ended$/m);
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
    expect(r.stderr).toMatch(/b->c, c->b ask for delay, jitter or loss.*--links native/);
    expect(await listNamespaces().catch(() => [])).toEqual(before);
  });

  it('Ctrl-C during a run on the native link emulator removes every namespace, agent and the emulator', async () => {
    writeFiles(dir.path, { 'delayed.yaml': readFileSync(QUICKSTART, 'utf8').replace('delay_ms: 0', 'delay_ms: 30').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`) });
    const child = execa('node', [BIN, 'run', 'delayed.yaml', '--mode', 'emu', '--iterations', '100', '--out', 'stopped'], { cwd: dir.path, reject: false });
    await waitFor(async () => (await execa('pgrep', ['-f', 'run/agent-process.js'], { reject: false })).stdout.trim().split('\n').length >= 4, 20_000);
    expect((await execa('pgrep', ['-f', 'geobed-linkem'], { reject: false })).stdout.trim()).not.toBe('');
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(await leftovers()).toEqual({ namespaces: [], agents: '' });
  });

  it('a Mahimahi trace, jitter and per-packet logs from the scenario file: replayed by the native emulator, logs in the results', async () => {
    writeFiles(dir.path, {
      'cell.up': '1\n', // one opportunity (a 1500-byte IP packet) per ms: 12 Mbit/s
      'mm.yaml': scenarioText({
        nodes: 'nodes: [a, b]',
        iterations: 'iterations: 2',
        links: 'links:\n  - between: [a, b]\n    bandwidth: { forward: { mahimahi: cell.up }, reverse: 100 }\n    delay_ms: 10\n    jitter_ms: 2',
        workload: 'workload: { gradient_mb: 1.5, compute_ms: 10 }',
        results: 'results: { packet_log: true }',
      }),
    });
    const r = await execa('node', [BIN, 'run', 'mm.yaml', '--mode', 'emu', '--out', 'mm-out'], { cwd: dir.path, reject: false });
    // no warning: stderr holds at most progress lines
    expect(r.stderr.split('\n').filter((l) => l && !/^geobed: star: \d+\/2 iterations/.test(l))).toEqual([]);
    expect(r.exitCode).toBe(0);
    const out = join(dir.path, 'mm-out');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.backends.network).toMatch(/native link emulator/);
    expect(manifest.files).toEqual(expect.arrayContaining(['packets/star/a-b.log', 'packets/star/b-a.log']));
    expect(manifest.links[0]).toMatchObject({ link: 'a->b', rate: 'mahimahi cell.up', delay_ms: 10, jitter_ms: 2, reorder: false });
    // the emulator replays the trace itself: no rate changes for a->b
    expect(readFileSync(join(out, 'replay.csv'), 'utf8')).not.toMatch(/a->b/);
    const log = readFileSync(join(out, 'packets', 'star', 'a-b.log'), 'utf8').split('\n');
    expect(log[0]).toBe('# base timestamp: 0');
    const departures = log.filter((l) => / - /.test(l)).map((l) => l.split(' ').map(Number));
    const arrivals = log.filter((l) => / \+ /.test(l));
    expect(arrivals.length).toBeGreaterThan(1000); // 1.5 MB each way per iteration
    // departures follow the opportunities: in any 100 ms, at most 100 x 1504 bytes, each packet counting its 4-byte
    // TUN header as Mahimahi's do (and the packet completed last)
    for (let i = 0, j = 0; i < departures.length; i++) {
      let bytes = 0;
      for (j = i + 1; j < departures.length && departures[j][0] <= departures[i][0] + 100; j++) bytes += departures[j][2] + 4;
      expect(bytes).toBeLessThanOrEqual(100 * 1504 + 1504);
    }
    // the trace runs on the run's clock, as the log's times do: every packet leaves at an opportunity, a whole ms
    // after the run's epoch (a trace started when the network was built would put them at fractions of a ms)
    const offGrid = departures.filter(([at]) => Math.abs(at - Math.round(at)) > 1e-6);
    expect(offGrid.slice(0, 3)).toEqual([]);
    // and the log's 0 is the run's epoch: a's last data packet left the link at least its delay less jitter
    // (8 ms) before b had the last message from a (a log counted from when the network was built is ~0.2 s late)
    const transfers = readCsv(join(out, 'transfers.csv'));
    const lastData = Math.max(...departures.filter((d) => d[2] > 1000).map((d) => d[0]));
    const lastDelivered = Math.max(...transfers.filter((t) => t.from === 'a' && t.to === 'b').map((t) => Number(t.delivered_s) * 1000));
    expect(lastData).toBeLessThan(lastDelivered - 5);
    const big = transfers.filter((t) => t.from === 'a' && Number(t.bytes) > 100_000);
    expect(big.length).toBeGreaterThan(0);
    for (const t of big) expect(Number(t.mbps)).toBeLessThan(12.1);
    expect(await leftovers()).toEqual({ namespaces: [], agents: '' });
  }, 90_000);

  it('per-packet logs or jitter without reordering on kernel links stop before creating anything', async () => {
    writeFiles(dir.path, { 'logs.yaml': scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: 50\n  - between: [b, c]\n    bandwidth: 50', results: 'results: { packet_log: true }' }) });
    const r = await execa('node', [BIN, 'run', 'logs.yaml', '--mode', 'emu', '--links', 'kernel', '--out', 'out'], { cwd: dir.path, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--links kernel: results\.packet_log asks for per-packet logs; only the native link emulator does that \(--links native\)/);
    writeFiles(dir.path, { 'jitter.yaml': scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: 50\n    delay_ms: 5\n    jitter_ms: 3\n  - between: [b, c]\n    bandwidth: 50' }) });
    const j = await execa('node', [BIN, 'run', 'jitter.yaml', '--mode', 'emu', '--links', 'kernel', '--out', 'out'], { cwd: dir.path, reject: false });
    expect(j.exitCode).toBe(2);
    expect(j.stderr).toMatch(/a->b has jitter without reordering \(netem reorders\)/);
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

describe.skipIf(!isRoot)('data centers with several workers (root)', () => {
  it('more workers than this host\'s memory holds (an agent process each) are refused before anything is built', async () => {
    const availableMb = Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
    const perDc = Math.ceil((2 * availableMb) / 60 / 4); // twice what fits, over the quickstart's 4 data centers
    if (perDc > 1024) return void process.stderr.write('not checked: this host has memory for 4 x 1,024 workers\n');
    const scenario = loadScenario(QUICKSTART, { schedulers: ['star'], set: [`node_defaults.workers=${perDc}`] });
    await expect(emulate(scenario, scenario.schedulers[0], { timeoutS: 30 })).rejects.toThrow(
      new RegExp(`--mode emu: ${4 + 4 * perDc} nodes \\(4 data centers and ${4 * perDc} workers\\) need about [\\d.]+ GB for their agent processes \\(60 MB a node\\) and this host has [\\d.]+ GB available`));
    expect(await leftovers()).toEqual({ namespaces: [], agents: '' });
  });

  // the quarter-rate quickstart with two workers per data center, its LAN 0.05 ms each way (so on the native link emulator, this kernel having no netem)
  const scenario = loadScenario(join(PACKAGE_ROOT, 'test', 'emu', 'fixtures', 'quickstart-quarter', 'dcs.yaml'), {
    iterations: 2, set: ['node_defaults.lan.delay_ms=0.05'], schedulers: ['star', 'tsengine', 'netstorm'],
  });
  // TSEngine on two levels (GeoMX): the workers merge pairwise inside their data center, over the same real TCP
  scenario.schedulers.splice(2, 0, { ...scenario.schedulers[1], label: 'tsengine-2', levels: 2 } as typeof scenario.schedulers[1]);
  for (const config of scenario.schedulers) {
    it(`${config.label}: each of the 8 workers in a namespace of its own on its data center's LAN ends every iteration with the plain sum`, async () => {
      const run = await emulate(scenario, config, { values: true, timeoutS: 90, links: 'native' });
      expect([...run.workers.keys()].sort()).toEqual(['fra.w0', 'fra.w1', 'lon.w0', 'lon.w1', 'mad.w0', 'mad.w1', 'par.w0', 'par.w1']);
      expectPlainSums(scenario, run);
      const model = scenario.workload.totalBytes;
      for (const r of run.iterations) {
        expect(r.lanBytes! + r.wanBytes!).toBe(r.bytes);
        // over data centers (tsengine, netstorm): every worker's gradient to its data center and back (or, two levels, to
        // its peer and on: as many messages); the WAN as with one worker each
        if (config.name !== 'star') expect([r.lanBytes, r.wanBytes]).toEqual([2 * 8 * model, 2 * 3 * model]);
      }
      // the LAN's links are watched like any link (counters, fidelity)
      expect(run.fidelity.filter((f) => f.link >= scenario.wanLinks)).toHaveLength(16);
    }, 120_000);
  }
});
