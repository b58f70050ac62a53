/**
 * The fidelity check catches an overloaded host (root; CI runs as root): an
 * emulated run beside a CPU hog this test starts (one busy process per CPU,
 * bounded in time and killed by PID) is flagged, on stderr and in the
 * manifest, with the figures; the run itself still completes. And it tells
 * a link that falls short from a busy host: a link throttled behind
 * geobed's back while the host idles is reported as a link problem.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { scenarioText, useTempDir, writeFiles } from '../helpers.js';
import { listNamespaces } from '../../src/net/emu/exec.js';
import { assertFiguresOnlyIfHostKeptUp, cleanUpAfterEach, isRoot, type Child } from './emu-helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');

cleanUpAfterEach(async () => undefined); // (nothing of the run's left behind)
const hogs: Child[] = [];
afterEach(async () => {
  // killed by PID, pass or fail, and gone before the next test
  for (const hog of hogs) hog.kill('SIGKILL'); // (its own PID: node is the process spawned)
  for (const hog of hogs.splice(0)) {
    await hog;
    expect((await execa('ps', ['-p', String(hog.pid)], { reject: false })).exitCode).toBe(1);
  }
});

describe.skipIf(!isRoot)('fidelity under load (root)', () => {
  const dir = useTempDir();

  it('an emulated run beside a CPU hog is flagged as compromised, with the figures', async () => {
    // one spinning process per CPU, at the run's priority; each ends by itself after 120 s at the latest
    for (const _ of cpus()) hogs.push(execa('node', ['-e', 'const end = Date.now() + 120000; while (Date.now() < end);'], { reject: false }));
    await new Promise((r) => setTimeout(r, 500));
    const out = join(dir.path, 'hogged');
    const r = await execa('node', [BIN, 'run', QUICKSTART, '--mode', 'emu', '--links', 'native', '--schedulers', 'star', '--iterations', '2', '--out', out], { reject: false, env: { FORCE_COLOR: '0' } });
    for (const hog of hogs) hog.kill('SIGKILL'); // (its own PID: node is the process spawned)
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/geobed: warning: the emulation was compromised, this host could not keep up \(star: the CPUs were under 10% idle in \d+% of the run/);
    expect(r.stdout).toMatch(/star: busy links carried .*; host CPUs \d+% idle on average, link emulator \d+% of a core \(waiting \d+%\), agents up to \d+% of a core \(waiting up to \d+%\), agents' timers late by up to [\d.]+ ms \(99th percentile\) -- COMPROMISED: /);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.fidelity.flagged).toBe(true);
    expect(manifest.fidelity.problems.star.length).toBeGreaterThan(0);
    // the figures behind the verdict, per scheduler: the host, the emulator, every agent
    const star = manifest.runs.find((run: { scheduler: string }) => run.scheduler === 'star');
    expect(star.host_cpu_saturated_share).toBeGreaterThan(0.2);
    expect(star.link_emulator_core_mean).toBeGreaterThan(0);
    expect(Object.keys(star.agents)).toEqual(['fra', 'lon', 'par', 'mad']);
    expect(star.link_emulator_wait_mean).toBeGreaterThanOrEqual(0);
    for (const agent of Object.values(star.agents) as { core_mean: number; wait_mean: number; loop_lag_p99_ms: number }[]) {
      expect(agent.core_mean).toBeGreaterThan(0); // (every agent sends and receives)
      expect(agent.wait_mean).toBeGreaterThanOrEqual(0);
      expect(agent.loop_lag_p99_ms).toBeGreaterThanOrEqual(0);
    }
    expect(star.fidelity_problems).toEqual(manifest.fidelity.problems.star);
  }, 180_000);

  it('a link that carries far less than its trace allows while the host has CPU to spare is a link problem, named as such', async (ctx) => {
    // b->c carries a's traffic to c, forwarded at b: cubic fills its queue there, so the sampler sees it busy (a sender's
    // own first hop keeps only a few packets queued: TCP small queues hold the rest in the socket)
    const network = 'network: { tcp: { congestion: cubic } }';
    const links = 'links:\n  - between: [a, b]\n    bandwidth: 100\n  - between: [b, c]\n    bandwidth: 50';
    writeFiles(dir.path, { 's.yaml': scenarioText({ nodes: 'nodes: [a, c, b]', links, iterations: 'iterations: 2', network }) });
    const out = join(dir.path, 'short');
    const run = execa('node', [BIN, 'run', 's.yaml', '--mode', 'emu', '--links', 'kernel', '--out', out], { cwd: dir.path, reject: false, env: { FORCE_COLOR: '0' } });
    // once b->c is built, its rate class is set to a fifth of the trace's rate behind geobed's back (a link backend gone wrong)
    let throttled = false;
    for (const until = Date.now() + 30_000; !throttled && Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      const ns = (await listNamespaces()).find((n) => /^gb-[0-9a-f]{6}-b$/.test(n));
      if (!ns) continue;
      throttled = (await execa('tc', ['-n', ns, 'class', 'change', 'dev', 'n1', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10mbit', 'ceil', '10mbit', 'burst', '3200', 'cburst', '3200'], { reject: false })).exitCode === 0;
    }
    const r = await run;
    expect(throttled).toBe(true);
    expect(r.exitCode, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    // (a host too busy of its own is to blame first: then this test cannot judge the link)
    assertFiguresOnlyIfHostKeptUp(ctx, 'a throttled link blamed on the link', manifest.fidelity.causes.star === 'host' ? manifest.fidelity.problems.star : []);
    expect(manifest.fidelity.causes.star).toBe('links');
    expect(r.stderr).toMatch(/geobed: warning: links carried less than their traces allowed while this host had CPU to spare \(star: b->c carried \d+\.\d% of its allowance\): a problem of the link backend, not of the host/);
    expect(r.stdout).toMatch(/BELOW 90% on b->c: a link problem \(the host had CPU to spare\)/);
  }, 120_000);
});
