/**
 * Emulated runs under faults (root; CI runs as root): runs side by side,
 * a run killed with SIGKILL and the leftovers it leaves, `clean` beside a
 * live run, Ctrl-C pressed again and again during a 40-node teardown, the
 * stall watchdog (a stopped agent, links at 0 Mbit/s, links that drop every
 * packet), and an agent that dies in the second scheduler.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listNamespaces } from '../../src/net/emu/exec.js';
import { OWNERS_DIR } from '../../src/net/emu/owners.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readCsv, scenarioText, useTempDir, writeFiles } from '../helpers.js';
import { isRoot } from './emu-helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

const started: ResultPromise[] = [];
/** geobed in a process group of its own, as a shell starts a command: signals to -pid reach it as Ctrl-C would. */
function geobed(args: string[], cwd: string): ResultPromise {
  const child = execa(process.execPath, [BIN, ...args], { cwd, reject: false, detached: true, env: { FORCE_COLOR: '0' } });
  started.push(child);
  return child;
}

async function namespaces(): Promise<string[]> {
  return (await listNamespaces()).filter((n) => n.startsWith('gb-'));
}

async function helpers(): Promise<string> {
  return (await execa('pgrep', ['-fa', 'run/agent-process.js|geobed-linkem|tc -n gb-|tc -s -batch'], { reject: false })).stdout.trim();
}

/** The tags of the runs whose namespaces exist now. */
async function tags(): Promise<Set<string>> {
  return new Set((await namespaces()).map((n) => n.slice(3, 9)));
}

async function waitFor(test: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Processes running in a namespace (the agent, and tc processes working there). */
async function pidsIn(namespace: string): Promise<number[]> {
  return (await execa('ip', ['netns', 'pids', namespace], { reject: false })).stdout.split('\n').filter(Boolean).map(Number);
}

/** The agent process of a node. */
async function agentIn(namespace: string): Promise<number> {
  const agents = (await pidsIn(namespace)).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent-process.js'));
  expect(agents).toHaveLength(1);
  return agents[0];
}

/** The namespace of a run's node. */
async function namespaceOf(node: string, tag?: string): Promise<string> {
  return (await namespaces()).find((n) => n.endsWith(`-${node}`) && (tag === undefined || n.startsWith(`gb-${tag}-`)))!;
}

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await child;
  }
  await execa(process.execPath, [BIN, 'clean', '--force'], { reject: false });
  expect(await namespaces()).toEqual([]);
  expect(await helpers()).toBe('');
});

describe.skipIf(!isRoot)('emulated runs under faults (root)', () => {
  const dir = useTempDir();

  it('two emulated runs at once use separate namespaces and both finish with their own results', async () => {
    const a = geobed(['run', QUICKSTART, '--mode', 'emu', '--iterations', '2', '--schedulers', 'star', '--out', 'a'], dir.path);
    const b = geobed(['run', QUICKSTART, '--mode', 'emu', '--iterations', '2', '--schedulers', 'ring', '--out', 'b'], dir.path);
    await waitFor(async () => (await tags()).size === 2, 30_000, 'both runs\' namespaces');
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.exitCode, String(ra.stderr)).toBe(0);
    expect(rb.exitCode, String(rb.stderr)).toBe(0);
    expect(readCsv(join(dir.path, 'a', 'iterations.csv')).map((r) => r.scheduler)).toEqual(['star', 'star']);
    expect(readCsv(join(dir.path, 'b', 'iterations.csv')).map((r) => r.scheduler)).toEqual(['ring', 'ring']);
    for (const d of ['a', 'b']) expect(manifestOf(join(dir.path, d)).status).toBe('complete');
  }, 120_000);

  it('SIGKILL leaves namespaces: clean keeps a live run\'s and removes the dead one\'s, and so does the next emulated run', async () => {
    const live = geobed(['run', QUICKSTART, '--mode', 'emu', '--iterations', '100', '--schedulers', 'star', '--out', 'live'], dir.path);
    await waitFor(async () => (await tags()).size === 1, 30_000, 'the live run\'s namespaces');
    const [liveTag] = await tags();
    const doomed = geobed(['run', QUICKSTART, '--mode', 'emu', '--iterations', '100', '--schedulers', 'star', '--out', 'doomed'], dir.path);
    await waitFor(async () => (await namespaces()).length === 8, 30_000, 'the second run\'s four namespaces');
    const deadTag = [...(await tags())].find((t) => t !== liveTag)!;
    await new Promise((r) => setTimeout(r, 2000));
    process.kill(-doomed.pid!, 'SIGKILL'); // geobed and nothing else: its helpers run in groups of their own
    await doomed;
    // its agents see their channel close and exit; its namespaces stay
    await waitFor(async () => (await Promise.all((await namespaces()).filter((n) => n.startsWith(`gb-${deadTag}-`)).map(pidsIn))).every((p) => p.length === 0), 10_000, 'the killed run\'s agents to exit');
    expect(await tags()).toEqual(new Set([liveTag, deadTag])); // what SIGKILL leaves

    const clean = await execa(process.execPath, [BIN, 'clean'], { reject: false });
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(new RegExp(`^removed 4 namespace\\(s\\) of run ${deadTag} \\(pid \\d+, gone\\)$`, 'm'));
    expect(clean.stdout).toMatch(new RegExp(`^kept 4 namespace\\(s\\) of run ${liveTag} \\(pid \\d+, running\\): still running`, 'm'));
    expect(await tags()).toEqual(new Set([liveTag]));
    expect(existsSync(join(OWNERS_DIR, `${deadTag}.json`))).toBe(false);
    expect(manifestOf(join(dir.path, 'doomed')).status).toBe('running'); // geobed summarize marks it

    // the live run was not touched: it goes on, and Ctrl-C ends it with its results
    const before = readCsv(join(dir.path, 'live', 'iterations.csv')).length;
    await waitFor(() => readCsv(join(dir.path, 'live', 'iterations.csv')).length > before, 30_000, 'the live run to finish another iteration');
    process.kill(-live.pid!, 'SIGINT');
    const r = await live;
    expect(r.exitCode).toBe(130);
    expect(manifestOf(join(dir.path, 'live')).status).toBe('interrupted');

    // a run killed again; the next emulated run finds its leftovers and removes them, with a message
    const again = geobed(['run', QUICKSTART, '--mode', 'emu', '--iterations', '100', '--schedulers', 'star', '--out', 'again'], dir.path);
    await waitFor(async () => (await namespaces()).length === 4, 30_000, 'the third run\'s four namespaces');
    const [againTag] = await tags();
    process.kill(-again.pid!, 'SIGKILL');
    await again;
    // (its agents exit as their channel closes; the next run must not wait for them)
    const next = geobed(['run', QUICKSTART, '--mode', 'emu', '--iterations', '1', '--schedulers', 'star', '--out', 'next'], dir.path);
    const n = await next;
    expect(n.exitCode, String(n.stderr)).toBe(0);
    expect(n.stderr).toMatch(new RegExp(`^geobed: removed what an earlier run left behind: 4 namespace\\(s\\) of run ${againTag} \\(pid \\d+, gone\\)$`, 'm'));
  }, 240_000);

  it('Ctrl-C pressed three times during a 40-node run removes all 40 namespaces and keeps what finished', async () => {
    const nodes = Array.from({ length: 40 }, (_, i) => `n${i}`);
    writeFiles(dir.path, {
      'forty.yaml': [
        'name: forty', 'iterations: 1000', `nodes: [${nodes.join(', ')}]`, 'links:',
        ...nodes.map((n, i) => `  - { between: [${n}, n${(i + 1) % 40}], bandwidth: 100 }`),
        'workload: { gradient_mb: 1, compute_ms: 10 }', 'schedulers: [ring]', '',
      ].join('\n'),
    });
    const run = geobed(['run', 'forty.yaml', '--mode', 'emu', '--out', 'forty'], dir.path);
    await waitFor(async () => (await helpers()).split('\n').filter((l) => l.includes('agent-process')).length >= 40, 90_000, '40 agents');
    await waitFor(() => existsSync(join(dir.path, 'forty', 'iterations.csv')) && readCsv(join(dir.path, 'forty', 'iterations.csv')).length >= 1, 60_000, 'an iteration');
    for (let k = 0; k < 3; k++) {
      process.kill(-run.pid!, 'SIGINT');
      await new Promise((r) => setTimeout(r, 300));
    }
    const r = await run;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toMatch(/still stopping \(SIGINT\)/);
    expect(r.stderr).not.toMatch(/Unhandled|\n\s+at /);
    expect(await namespaces()).toEqual([]);
    expect(manifestOf(join(dir.path, 'forty')).status).toBe('interrupted');
  }, 180_000);

  it('the watchdog: a stopped agent fails the run, naming it, instead of hanging', async () => {
    const run = geobed(['run', QUICKSTART, '--mode', 'emu', '--iterations', '100', '--schedulers', 'star', '--stall-timeout', '3', '--out', 'stopped'], dir.path);
    await waitFor(() => existsSync(join(dir.path, 'stopped', 'iterations.csv')) && readCsv(join(dir.path, 'stopped', 'iterations.csv')).length >= 1, 60_000, 'an iteration');
    process.kill(await agentIn(await namespaceOf('lon')), 'SIGSTOP');
    const r = await run;
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^geobed: quickstart: scheduler star \(1 of 1\): no progress for \d+ s \(at t=[\d.]+ s\): agents not answering: lon \(stopped, e\.g\. by SIGSTOP\)/m);
    expect(r.stderr).toMatch(/^geobed: kept the \d+ finished iteration\(s\) in stopped \(manifest status failed\)$/m);
    const out = join(dir.path, 'stopped');
    expect(manifestOf(out).status).toBe('failed');
    // Issue 25: links.csv keeps what the links carried up to the failure, as replay.csv keeps the changes applied up to it
    // (before, it stopped at the last finished iteration)
    const lastBin = Math.max(...readCsv(join(out, 'links.csv')).map((row) => Number(row.bin_start_s)));
    const lastChange = Math.max(...readCsv(join(out, 'replay.csv')).map((row) => Number(row.applied_s)));
    const lastEnd = Math.max(...readCsv(join(out, 'iterations.csv')).map((row) => Number(row.end_s)));
    expect(lastChange).toBeGreaterThan(lastEnd + 3); // (the stall took at least --stall-timeout after the last iteration)
    expect(lastBin).toBeGreaterThanOrEqual(Math.floor(lastChange));
    // and the report of the failed run says how it ended and what it left out
    expect((await geobed(['report', out], dir.path)).exitCode).toBe(0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<h2>Incomplete run<\/h2><div class="warning incomplete">the run ended failed: no progress for \d+ s .*agents not answering: lon/);
    expect(html).toMatch(/missing or incomplete: star \(\d+ of 100 iterations\)/);
  }, 120_000);

  it('the watchdog: links that drop every packet fail the run with exit 2, naming them', async () => {
    writeFiles(dir.path, { 's.yaml': scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: 10\n    loss_percent: 100\n  - between: [b, c]\n    bandwidth: 10' }) });
    const r = await geobed(['run', 's.yaml', '--mode', 'emu', '--stall-timeout', '3', '--out', 'out'], dir.path);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/links that drop every packet \(loss_percent 100\): a->b, b->a/);
    expect(r.stderr).toMatch(/^geobed: no iteration had finished, so no results were kept$/m);
    expect(existsSync(join(dir.path, 'out'))).toBe(false);
  }, 60_000);

  // Issue 25: a link at 0 for ever waited out the whole stall timeout; the simulator stops at once
  it('links at 0 Mbit/s for ever are refused before anything is built, naming them and when the outage starts', async () => {
    writeFiles(dir.path, { 's.yaml': scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: { generator: steps, mbps: [10, 0], period_s: 2, loop: false }\n  - between: [b, c]\n    bandwidth: 10' }) });
    const started = Date.now();
    const r = await geobed(['run', 's.yaml', '--mode', 'emu', '--out', 'out'], dir.path);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^geobed: s\.yaml: a->b is at 0 Mbit\/s for ever from t=2 s, b->a is at 0 Mbit\/s for ever from t=2 s: an emulated run would wait on them until the stall timeout; give each a rate after the outage, or loop its trace$/m);
    expect(Date.now() - started).toBeLessThan(30_000); // (not the 60 s stall timeout)
    expect(existsSync(join(dir.path, 'out'))).toBe(false);
  }, 60_000);

  it('an agent that dies in the second scheduler fails the run naming it, and keeps the first scheduler\'s results', async () => {
    const run = geobed(['run', QUICKSTART, '--mode', 'emu', '--iterations', '2', '--schedulers', 'star,ring', '--out', 'crash'], dir.path);
    const out = join(dir.path, 'crash');
    // the first scheduler has ended (the manifest lists its run) and the second one's agents are up
    await waitFor(() => existsSync(join(out, 'manifest.json')) && (manifestOf(out).runs ?? []).length === 1, 90_000, 'star to finish');
    await waitFor(async () => (await tags()).size === 1, 30_000, 'ring\'s namespaces');
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(await agentIn(await namespaceOf('par')), 'SIGKILL');
    const r = await run;
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^geobed: quickstart: scheduler ring \(2 of 2\): the agent of par exited \(SIGKILL\) before the run ended$/m);
    const rows = readCsv(join(out, 'iterations.csv'));
    expect(rows.filter((row) => row.scheduler === 'star')).toHaveLength(2);
    expect(readCsv(join(out, 'summary.csv')).map((s) => s.scheduler)[0]).toBe('star');
    expect(manifestOf(out)).toMatchObject({ status: 'failed', completed_iterations: { star: 2 } });
  }, 180_000);
});
