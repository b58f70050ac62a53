/**
 * One byte accounting: a link's rate and its carried bytes mean Ethernet
 * frames on the kernel backend (htb on a veth), on the native emulator (IP
 * packets plus their 14-byte headers) and in the simulator (1514 bytes per
 * 1448 of TCP payload: src/net/wire.ts). One bulk TCP transfer over each
 * backend: the link's counter over the payload received is the simulator's
 * ratio, within 0.5%.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { scenarioTopology } from '../../src/run/simulate.js';
import { buildLinks, type LinkBackend } from '../../src/run/link-backends.js';
import type { EmulatedLinks, LinkCounterReading } from '../../src/net/emu/links.js';
import { wireBytes } from '../../src/net/wire.js';
import { scenarioText } from '../helpers.js';
import { cleanUpAfterEach, isRoot, trafficTools } from './emu-helpers.js';

let net: EmulatedLinks | null = null;
const children = cleanUpAfterEach(async () => {
  await net?.teardown();
  net = null;
});
const { tool, json } = trafficTools(children);

describe.skipIf(!isRoot)('one byte accounting (root)', () => {
  for (const backend of ['kernel', 'native'] as LinkBackend[]) {
    it(`${backend} links count a transfer's bytes as the simulator does (frames), within 0.5%`, async () => {
      const scenario = parseScenario(scenarioText({ nodes: 'nodes: [a, b]', links: 'links:\n  - between: [a, b]\n    bandwidth: 50' }), 's.yaml');
      const n = (net = await buildLinks(backend, scenario, scenarioTopology(scenario)));
      const readings: LinkCounterReading[] = [];
      const counters = n.counters();
      counters.start(50, (r) => r.link === 0 && readings.push(r), () => performance.now() / 1000);
      const recv = await tool(n, 'b', ['recv', n.addressOf('b'), '5501', '3'], true);
      await new Promise((r) => setTimeout(r, 200));
      const before = readings[readings.length - 1].sentBytes;
      await tool(n, 'a', ['send', n.addressOf('b'), '5501', '2']);
      const { samples } = await json(recv);
      await new Promise((r) => setTimeout(r, 300));
      await counters.stop();
      const payload = samples.reduce((s: number, x: number) => s + x, 0);
      const carried = readings[readings.length - 1].sentBytes - before;
      expect(payload).toBeGreaterThan(5e6); // ~2 s at 50 Mbit/s
      process.stderr.write(`byte accounting, ${backend}: ${carried} bytes carried for ${payload} of payload (${(carried / payload).toFixed(5)}; simulator ${(wireBytes(1) / 1).toFixed(5)})\n`);
      expect(Math.abs(carried / wireBytes(payload) - 1)).toBeLessThan(0.005);
    }, 30_000);
  }
});
