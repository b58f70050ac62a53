/**
 * Packet captures (results.pcap, root): on kernel links tcpdump, on the
 * native link emulator the emulator itself (native/pcap.c) write one pcap
 * file per directed link; tcpdump and tshark read them back, and the bytes
 * they hold match what links.csv says each link carried, within 2%.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readCsv, scenarioText, useTempDir, writeFiles } from '../helpers.js';
import { cleanUpAfterEach, isRoot } from './emu-helpers.js';
import { ETHERNET_HEADER_BYTES } from '../../src/net/wire.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
cleanUpAfterEach(async () => undefined);

/** The records of a pcap file: each packet's original length; and whether its link layer is Ethernet (1) or raw IP (101). */
function readPcap(path: string): { linkType: number; lengths: number[] } {
  const b = readFileSync(path);
  const magic = b.readUInt32LE(0);
  expect([0xa1b2c3d4, 0xa1b23c4d]).toContain(magic); // microsecond or nanosecond times, little-endian (this host)
  const linkType = b.readUInt32LE(20);
  const lengths: number[] = [];
  for (let at = 24; at + 16 <= b.length;) {
    const captured = b.readUInt32LE(at + 8);
    lengths.push(b.readUInt32LE(at + 12));
    at += 16 + captured;
  }
  return { linkType, lengths };
}

describe.skipIf(!isRoot)('packet captures (root)', () => {
  const dir = useTempDir();

  for (const links of ['kernel', 'native'] as const) {
    it(`${links} links: a pcap per directed link, read back by tcpdump and tshark, its bytes within 2% of links.csv`, async () => {
      writeFiles(dir.path, {
        's.yaml': scenarioText({
          nodes: 'nodes: [a, b, c]', iterations: 'iterations: 2',
          links: 'links:\n  - between: [a, b]\n    bandwidth: 40\n  - between: [b, c]\n    bandwidth: 60',
          workload: 'workload: { gradient_mb: 6, compute_ms: 20 }', results: 'results: { pcap: true }',
        }),
      });
      const out = join(dir.path, 'out');
      const r = await execa('node', [BIN, 'run', join(dir.path, 's.yaml'), '--mode', 'emu', '--links', links, '--out', out], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      const carried = new Map<string, number>();
      for (const row of readCsv(join(out, 'links.csv'))) carried.set(row.link, (carried.get(row.link) ?? 0) + (Number(row.carried_mbps) * 1e6 * Number(row.bin_s)) / 8);
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
      for (const link of ['a->b', 'b->a', 'b->c', 'c->b']) {
        const file = join(out, 'pcap', 'star', `${link.replace('->', '-')}.pcap`);
        expect(manifest.files).toContain(`pcap/star/${link.replace('->', '-')}.pcap`);
        const { linkType, lengths } = readPcap(file);
        expect(linkType).toBe(links === 'kernel' ? 1 : 101);
        // frames, as links.csv counts them: Ethernet captures hold them; raw IP ones lack the 14-byte header
        const frameBytes = lengths.reduce((s, n) => s + n + (linkType === 101 ? ETHERNET_HEADER_BYTES : 0), 0);
        if (carried.get(link)! > 1e6) expect(Math.abs(frameBytes / carried.get(link)! - 1), `${link}: ${frameBytes} in the pcap, ${carried.get(link)} in links.csv`).toBeLessThan(0.02);
        // both readers read every packet
        const dump = await execa('tcpdump', ['-r', file, '-n', '-q'], { reject: false });
        expect(dump.exitCode, dump.stderr).toBe(0);
        expect(String(dump.stdout).split('\n').filter(Boolean)).toHaveLength(lengths.length);
        const shark = await execa('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.len'], { reject: false });
        expect(shark.exitCode, shark.stderr).toBe(0);
        expect(String(shark.stdout).split('\n').filter(Boolean).map(Number)).toEqual(lengths);
      }
      // the big direction carried megabytes: the comparison above was made
      expect(Math.max(...carried.values())).toBeGreaterThan(1e6);
    }, 120_000);
  }
});
