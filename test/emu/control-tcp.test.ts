/**
 * The control plane over TCP (root; CI runs as root): `--control tcp` runs
 * the same protocol as the agents' IPC channels over a management network
 * (one unshaped veth per namespace to a bridge on the host), with the same
 * iterations, sums and training checksums; the management network reaches
 * the host only, never another namespace, and is removed on every exit path.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { emulate } from '../../src/run/emulate.js';
import { runScenario } from '../../src/run/run.js';
import { Topology } from '../../src/net/topology.js';
import { KernelNetwork } from '../../src/net/kernel/network.js';
import { ManagementNetwork, managementTags } from '../../src/net/emu/management.js';
import { OWNERS_DIR } from '../../src/net/emu/owners.js';
import { listNamespaces, run } from '../../src/net/emu/exec.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { expectPlainSums, SUMMING_SCHEDULERS } from '../plain-sums.js';
import { useTempDir } from '../helpers.js';
import { cleanUpAfterEach, isRoot } from './emu-helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');

let nets: { teardown(): Promise<void> }[] = [];
cleanUpAfterEach(async () => {
  for (const n of nets.reverse()) await n.teardown();
  nets = [];
  expect(await managementTags()).toEqual([]);
  expect(slotFiles()).toEqual([]);
});

function slotFiles(): string[] {
  return existsSync(OWNERS_DIR) ? readdirSync(OWNERS_DIR).filter((f) => f.startsWith('management-')) : [];
}

/** Run a few lines of Node inside a namespace; their stdout. */
async function nodeIn(namespace: string, script: string): Promise<string> {
  return (await execa('ip', ['netns', 'exec', namespace, process.execPath, '-e', script])).stdout.trim();
}

/** Inside a namespace: does a TCP connection to host:port open within 1 s? */
const connects = (host: string, port: number) => `
  const s = require('node:net').connect({ host: '${host}', port: ${port} });
  s.on('connect', () => { console.log('open'); process.exit(0); });
  s.on('error', (e) => { console.log(e.code); process.exit(0); });
  setTimeout(() => { console.log('timeout'); process.exit(0); }, 1000);`;

describe.skipIf(!isRoot)('the control plane over TCP (root)', () => {
  const dir = useTempDir();
  const scenario = loadScenario(QUICKSTART, { iterations: 2, schedulers: [...SUMMING_SCHEDULERS] });

  for (const config of scenario.schedulers) {
    it(`${config.label}: over TCP every worker ends every iteration with the plain sum, as over IPC`, async () => {
      const tcp = await emulate(scenario, config, { values: true, control: 'tcp', timeoutS: 90 });
      expect(tcp.iterations).toHaveLength(2);
      expectPlainSums(scenario, tcp);
      if (config.name === 'star') {
        // a static plan: the same messages, one for one, as over IPC
        const ipc = await emulate(scenario, config, { values: true, timeoutS: 90 });
        expectPlainSums(scenario, ipc);
        expect(tcp.stats.messages).toBe(ipc.stats.messages);
        expect(tcp.iterations.map((i) => i.bytes)).toEqual(ipc.iterations.map((i) => i.bytes));
      }
    }, 200_000);
  }

  it('real training over TCP: every worker has the same weights after every step, and the model is the simulator\'s (same seed, same batches)', async () => {
    const text = readFileSync(join(PACKAGE_ROOT, 'scenarios', 'train-mnist.yaml'), 'utf8').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`);
    const train = parseScenario(text, join(dir.path, 'train.yaml'), { iterations: 5, schedulers: ['star'] });
    const emulated = await runScenario(train, { mode: 'emu', control: 'tcp', out: join(dir.path, 'emu') });
    const simulated = await runScenario(train, { mode: 'sim', out: join(dir.path, 'sim') });
    // (every step's weight checksums agreed across the workers, or the run would have failed)
    const [e, s] = [emulated.runs[0].training!.accuracy, simulated.runs[0].training!.accuracy];
    expect(e.map((r) => r.steps)).toEqual([0, 5]);
    // (up to the order fp32 sums were added in; the emulated workers once drew other batches than the simulated ones)
    e.forEach((r, i) => {
      expect(r.testLoss).toBeCloseTo(s[i].testLoss, 4);
      expect(r.trainLoss).toBeCloseTo(s[i].trainLoss, 4);
    });
    expect(JSON.parse(readFileSync(join(emulated.dir, 'manifest.json'), 'utf8')).backends.control).toMatch(/^tcp over a management network/);
  }, 240_000);

  it('the management network reaches the host alone, never another namespace, and two runs get two of them', async () => {
    const topology = Topology.fromSpecs(['a', 'b'], [{ from: 'a', to: 'b', delayS: 0 }, { from: 'b', to: 'a', delayS: 0 }]);
    const net = await KernelNetwork.build(topology, [10, 10]);
    nets.push(net);
    const other = await KernelNetwork.build(topology, [10, 10]);
    nets.push(other);
    const [m, n] = await Promise.all([
      ManagementNetwork.build(net.tag, ['a', 'b'], (x) => net.namespaceOf(x)),
      ManagementNetwork.build(other.tag, ['a', 'b'], (x) => other.namespaceOf(x)),
    ]);
    nets.push(m, n);
    expect(m.slot).not.toBe(n.slot);
    expect(m.hostAddress).not.toBe(n.hostAddress);
    for (const address of [m.hostAddress, m.addressOf('a'), m.addressOf('b'), n.hostAddress]) expect(address).toMatch(/^198\.19\.(1[2-9]\d|2[0-5]\d)\.\d+$/);

    // to the host: over the management veth, not a shaped link
    expect(await run('ip', ['-n', net.namespaceOf('a'), 'route', 'get', m.hostAddress])).toMatch(/ dev mgmt /);
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen({ host: m.hostAddress, port: 0 }, r));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await nodeIn(net.namespaceOf('b'), connects(m.hostAddress, port))).toBe('open');
      // b cannot reach a over the bridge (isolated ports), nor the other run's host address
      const listener = execa('ip', ['netns', 'exec', net.namespaceOf('a'), process.execPath, '-e',
        `require('node:net').createServer(() => {}).listen(7000, '${m.addressOf('a')}', () => console.log('up'))`]);
      await new Promise((r) => listener.stdout!.once('data', r));
      try {
        expect(await nodeIn(net.namespaceOf('b'), connects(m.addressOf('a'), 7000))).not.toBe('open');
      } finally {
        listener.kill('SIGKILL');
        await listener.catch(() => undefined);
      }
      expect(await nodeIn(net.namespaceOf('b'), connects(n.hostAddress, port))).not.toBe('open');
    } finally {
      server.close();
    }
    expect(slotFiles()).toHaveLength(2);
  }, 60_000);

  it('a run killed with SIGKILL leaves its management network; geobed clean removes it with the namespaces', async () => {
    const child = execa(process.execPath, [BIN, 'run', QUICKSTART, '--mode', 'emu', '--control', 'tcp', '--iterations', '100', '--out', join(dir.path, 'killed')], { reject: false, detached: true });
    const until = Date.now() + 30_000;
    while ((await execa('pgrep', ['-f', 'run/agent-process.js --tcp'], { reject: false })).stdout.trim().split('\n').filter(Boolean).length < 4) {
      if (Date.now() > until) throw new Error('timed out waiting for the agents');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    expect(await managementTags()).toHaveLength(1);
    expect(slotFiles()).toHaveLength(1);
    const clean = await execa(process.execPath, [BIN, 'clean'], { reject: false });
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/^removed 4 namespace\(s\) of run [0-9a-f]{6} \(pid \d+, gone\)/m);
    expect(await managementTags()).toEqual([]);
    expect(slotFiles()).toEqual([]);
    expect((await listNamespaces()).filter((x) => x.startsWith('gb-'))).toEqual([]);
  }, 90_000);
});
