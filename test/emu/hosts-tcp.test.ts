/**
 * The emulated hosts' TCP (scenario network.tcp, src/run/host-tcp.ts): every
 * namespace gets the congestion control on its routes, the socket-buffer
 * limits and slow start after idle the scenario asks for, on both link
 * backends; and with buffers sized to the path, a high bandwidth-delay
 * product path is filled.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parseScenario } from '../../src/scenario/load.js';
import { scenarioTopology } from '../../src/run/simulate.js';
import { buildLinks, type LinkBackend } from '../../src/run/link-backends.js';
import type { EmulatedLinks } from '../../src/net/emu/links.js';
import { scenarioText } from '../helpers.js';
import { FRAME_BYTES, PAYLOAD_PER_FRAME } from '../../src/net/wire.js';
import { cleanUpAfterEach, isRoot, trafficTools, watchHost } from './emu-helpers.js';

let net: EmulatedLinks | null = null;
const children = cleanUpAfterEach(async () => {
  await net?.teardown();
  net = null;
});
const { tool, goodputMbps } = trafficTools(children);

const twoHosts = (link: string, set: string[] = []) =>
  parseScenario(scenarioText({ nodes: 'nodes: [a, b]', links: `links:\n  - between: [a, b]\n${link}` }), 's.yaml', { set });

async function build(backend: LinkBackend, link: string, set: string[] = []): Promise<EmulatedLinks> {
  const scenario = twoHosts(link, set);
  net = await buildLinks(backend, scenario, scenarioTopology(scenario));
  return net;
}

const sysctl = async (n: EmulatedLinks, node: string, key: string) =>
  (await execa('ip', ['netns', 'exec', n.namespaceOf(node), 'sysctl', '-n', key])).stdout.trim().replace(/\s+/g, ' ');

describe.skipIf(!isRoot)('the emulated hosts\' TCP (root)', () => {
  for (const [backend, link] of [['kernel', '    bandwidth: 100'], ['native', '    bandwidth: 100\n    delay_ms: 5']] as const) {
    it(`${backend} links: every namespace has the scenario's buffers, slow start and congestion control, and a connection uses it`, async () => {
      const n = await build(backend, link, ['network.tcp={ congestion: reno, buffers: 64, slow_start_after_idle: true }']);
      for (const node of ['a', 'b']) {
        expect(await sysctl(n, node, 'net.ipv4.tcp_wmem')).toBe(`4096 16384 ${64 * 1024 * 1024}`);
        expect(await sysctl(n, node, 'net.ipv4.tcp_rmem')).toBe(`4096 131072 ${64 * 1024 * 1024}`);
        expect(await sysctl(n, node, 'net.ipv4.tcp_slow_start_after_idle')).toBe('1');
        const routes = (await execa('ip', ['-n', n.namespaceOf(node), 'route', 'show'])).stdout.split('\n').filter((r) => /198\.19\./.test(r));
        expect(routes.length).toBeGreaterThan(0);
        for (const r of routes) expect(r).toMatch(/congctl reno/);
      }
      // the host defaults to another (bbr here): the connection runs reno all the same
      await tool(n, 'b', ['recv', n.addressOf('b'), '5301', '3'], true);
      await tool(n, 'a', ['send', n.addressOf('b'), '5301', '2.5']);
      await new Promise((r) => setTimeout(r, 1000));
      const ss = (await execa('ip', ['netns', 'exec', n.namespaceOf('a'), 'ss', '-tin', 'dst', n.addressOf('b')])).stdout;
      expect(ss).toMatch(/\breno\b/);
      expect(ss).not.toMatch(/\b(bbr|cubic)\b/);
    }, 30_000);
  }

  it('defaults: bbr, buffers from the path (24 MiB for 500 Mbit/s and 50 ms each way), windows kept while idle', async () => {
    const n = await build('native', '    bandwidth: 500\n    delay_ms: 50');
    expect(await sysctl(n, 'a', 'net.ipv4.tcp_wmem')).toBe(`4096 16384 ${24 * 1024 * 1024}`);
    expect(await sysctl(n, 'a', 'net.ipv4.tcp_slow_start_after_idle')).toBe('0');
    expect((await execa('ip', ['-n', n.namespaceOf('a'), 'route', 'show'])).stdout).toMatch(/congctl bbr/);
  });

  // A path whose bandwidth-delay product (200 Mbit/s, 150 ms round trip: 3.75 MB) the host's 4 MB socket
  // buffers cannot cover (Linux leaves part of a buffer for overhead): with them TCP is window-limited near
  // 150 Mbit/s; with the path's (auto: 4 x the product) it is not, and carries what BBR carries on any path.
  // How close that comes to the link (the 95% goal) is BBR's own efficiency, measured by
  // npm run bench:links: its ProbeBW drain phase and ProbeRTT cost it 3-5% by design (95.2-96.6% of the
  // payload rate over 20-40 s here), too near 95% for a test. (500 Mbit/s, the first choice, pegs a
  // 2-core host: emulator, sender and receiver.)
  it('200 Mbit/s with 75 ms each way: TCP is not window-limited with the path\'s buffers (over 90% of the link\'s payload rate), and is with the host\'s 4 MB', async (ctx) => {
    const host = watchHost({ emulatorPid: () => net?.emulatorPid() ?? null });
    const tuned = await build('native', '    bandwidth: 200\n    delay_ms: 75');
    expect(await sysctl(tuned, 'a', 'net.ipv4.tcp_wmem')).toBe(`4096 16384 ${15 * 1024 * 1024}`); // 4 x the path's bandwidth-delay product
    const withPathBuffers = await goodputMbps(tuned, 25, 5, 5302);
    await tuned.teardown();
    net = null;
    const small = await build('native', '    bandwidth: 200\n    delay_ms: 75', ['network.tcp.buffers=host']);
    const withHostBuffers = await goodputMbps(small, 8, 4, 5303);
    const payloadRate = (200 * PAYLOAD_PER_FRAME) / FRAME_BYTES; // goodput is TCP payload; the link's rate counts frames (src/net/wire.ts)
    process.stderr.write(`high-BDP path: ${withPathBuffers.mbps.toFixed(1)} Mbit/s with the path's buffers (${((100 * withPathBuffers.mbps) / payloadRate).toFixed(1)}% of the payload rate), ${withHostBuffers.mbps.toFixed(1)} with the host's (200 Mbit/s, 75 ms each way)\n`);
    // 4 MB of buffer holds under 3 MB in flight: at most about 3 MB / 0.15 s = 160 Mbit/s
    expect(withHostBuffers.mbps).toBeLessThan(0.8 * 200);
    host.keptUp(ctx, `high-BDP path (${withPathBuffers.mbps.toFixed(1)} Mbit/s of 200)`);
    expect(withPathBuffers.mbps).toBeGreaterThan(0.9 * payloadRate);
    expect(withPathBuffers.mbps).toBeGreaterThan(1.15 * withHostBuffers.mbps);
  }, 90_000);
});
