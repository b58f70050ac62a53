/**
 * The relay underlay in emulated mode (root): the namespaces route to their
 * neighbours only and do not forward, so every message between
 * non-neighbours is carried by the agents, hop by hop, whole.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { emulate } from '../../src/run/emulate.js';
import { parseScenario } from '../../src/scenario/load.js';
import { KernelNetwork } from '../../src/net/kernel/network.js';
import { Topology } from '../../src/net/topology.js';
import { expectPlainSums } from '../plain-sums.js';
import { cleanUpAfterEach, isRoot } from './emu-helpers.js';

// a - b - c: c reaches the server a only through b
const TEXT = `name: relay
seed: 2
iterations: 2
nodes: [a, b, c]
links:
  - between: [a, b]
    bandwidth: 80
  - between: [b, c]
    bandwidth: 80
workload: { gradient_mb: 8, compute_ms: 10 }
network: { underlay: relay }
schedulers: [star, tsengine]
`;

describe.skipIf(!isRoot)('the relay underlay, emulated (root)', () => {
  let net: KernelNetwork | null = null;
  cleanUpAfterEach(async () => {
    await net?.teardown();
    net = null;
  });
  const scenario = parseScenario(TEXT, 'relay.yaml');
  const neighbours = new Set(scenario.links.map((l) => `${l.from}>${l.to}`));

  for (const links of ['kernel', 'native'] as const) {
    for (const config of scenario.schedulers) {
      it(`${links} links, ${config.label}: the plain sums arrive, every message crossing one link; c and a talk through b`, async () => {
        const run = await emulate(scenario, config, { values: true, timeoutS: 60, links });
        expect(run.iterations).toHaveLength(2);
        expectPlainSums(scenario, run);
        const hops = [...run.transfers].filter((t) => t.from !== t.to);
        expect(hops.filter((t) => !neighbours.has(`${t.from}>${t.to}`))).toEqual([]);
        expect(hops.some((t) => t.from === 'b' && t.to === 'a')).toBe(true);
        expect(hops.some((t) => t.from === 'b' && t.to === 'c')).toBe(true);
      });
    }
  }

  it('kernel links with neighbour routes: no forwarding, and no route from a to c', async () => {
    const topology = Topology.fromSpecs(['a', 'b', 'c'], scenario.links.map((l) => ({ from: l.from, to: l.to, delayS: 0 })));
    net = await KernelNetwork.build(topology, scenario.links.map(() => 80), { routes: 'neighbours' });
    const inB = await execa('ip', ['netns', 'exec', net.namespaceOf('b'), 'sysctl', '-n', 'net.ipv4.ip_forward']);
    expect(inB.stdout.trim()).toBe('0');
    const toB = await execa('ip', ['-n', net.namespaceOf('a'), 'route', 'get', net.addressOf('b')], { reject: false });
    expect(toB.exitCode).toBe(0);
    const toC = await execa('ip', ['-n', net.namespaceOf('a'), 'route', 'get', net.addressOf('c')], { reject: false });
    expect(toC.exitCode).not.toBe(0);
    expect(toC.stderr).toMatch(/unreachable/i);
  });
});
