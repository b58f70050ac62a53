/**
 * geobed doctor and geobed clean, as root (CI runs as root). Every namespace
 * a test makes is removed after it, pass or fail.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { listNamespaces } from '../../src/net/emu/exec.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const isRoot = process.getuid?.() === 0;
const made: string[] = [];

afterEach(async () => {
  for (const ns of made.splice(0)) await execa('ip', ['netns', 'del', ns], { reject: false });
});

describe.skipIf(!isRoot)('doctor and clean (root)', () => {
  it('doctor probes the kernel in a throwaway namespace and leaves none behind', async () => {
    const before = await listNamespaces();
    const r = await execa('node', [BIN, 'doctor', '--json'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.root).toBe(true);
    expect(report.iproute2).toMatch(/iproute2/);
    expect(report.namespaces).toBe(true);
    expect(report.qdiscs.htb).toBe(true); // every machine of this project has htb, tbf and mirred (kernel links use all three)
    expect(report.qdiscs.tbf).toBe(true);
    expect(report.qdiscs.mirred).toBe(true);
    expect(report.modes.emuRateOnly).toBe('yes (htb, tbf)');
    expect(typeof report.qdiscs.netem).toBe('boolean');
    expect(report.cpus).toBeGreaterThan(0);
    expect(report.modes.sim).toBe('yes');
    if (!report.qdiscs.netem) expect(report.modes.emuDelayLoss).toMatch(/native link emulator; the kernel has no netem/);
    expect(await listNamespaces()).toEqual(before);
  });

  it('clean removes geobed\'s namespaces and nothing else', async () => {
    const ours = 'gb-c0ffee-dc1';
    const theirs = `someone-else-${process.pid}`;
    for (const ns of [ours, theirs]) {
      made.push(ns);
      await execa('ip', ['netns', 'add', ns]);
    }
    const r = await execa('node', [BIN, 'clean'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^removed 1 namespace\(s\) of run c0ffee \(no owner recorded, gone\)$/m);
    const left = await listNamespaces();
    expect(left).not.toContain(ours);
    expect(left).toContain(theirs);
  });
});
