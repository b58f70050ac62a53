/** What the emulation tests share: the traffic tool, and the check that each test left nothing behind. */
import { afterEach, expect, type TestContext } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { listNamespaces } from '../../src/net/emu/exec.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { goodputMbps as goodput, type RecvResult } from '../../bench/tools/goodput.js';
import type { EmulatedLinks } from '../../src/net/emu/links.js';
import { HostCpuMonitor, ProcessCpuMonitor } from '../../src/run/host-load.js';
import { healthProblems, HOST_IDLE_MIN, type EmulationHealth } from '../../src/results/fidelity.js';

/** The traffic tool (src/net/emu/bulk.ts), run inside namespaces. */
export const BULK = join(PACKAGE_ROOT, 'dist', 'bench', 'tools', 'bulk.js');

export const isRoot = process.getuid?.() === 0;

export type Child = ReturnType<typeof execa>;

/**
 * After each test, pass or fail: kill the processes it pushed on the
 * returned list, run `teardown` (its network), then check that no geobed
 * namespace or link emulator is left.
 */
export function cleanUpAfterEach(teardown: () => Promise<void>): Child[] {
  const children: Child[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await teardown();
    expect((await listNamespaces()).filter((n) => n.startsWith('gb-'))).toEqual([]);
    expect((await execa('pgrep', ['-f', 'geobed-linkem'], { reject: false })).stdout.trim()).toBe('');
  });
  return children;
}

/** bulk.js in the namespaces of a built network; its processes go on `children` (killed after each test). */
export function trafficTools(children: Child[]) {
  /**
   * Start a bulk.js tool in a node's namespace; resolves (to a box: the child
   * itself is a promise) when it prints "listening" (servers) or at once.
   */
  async function tool(n: EmulatedLinks, node: string, args: string[], server = false): Promise<{ child: Child }> {
    const child = execa('ip', ['netns', 'exec', n.namespaceOf(node), 'node', BULK, ...args], { reject: false }); // servers are killed at the end
    children.push(child);
    if (server) await new Promise((resolve) => child.stdout!.once('data', resolve));
    return { child };
  }

  const json = async ({ child }: { child: Child }) => JSON.parse(String((await child).stdout).trim().split('\n').pop()!);

  async function pingMs(n: EmulatedLinks, count: number, port = 6001): Promise<number[]> {
    await tool(n, 'b', ['echo', n.addressOf('b'), String(port), '30'], true);
    return (await json(await tool(n, 'a', ['ping', n.addressOf('b'), String(port), String(count)]))).rttMs;
  }

  /** Bulk TCP from -> to for `seconds`; the mean goodput after the first `skipS` (and before the last 0.2 s). */
  async function goodputMbps(n: EmulatedLinks, seconds: number, skipS: number, port = 5001, from = 'a', to = 'b'): Promise<{ mbps: number; samples: number[] }> {
    const recv = await tool(n, to, ['recv', n.addressOf(to), String(port), String(seconds)], true);
    await tool(n, from, ['send', n.addressOf(to), String(port), String(seconds + 0.3)]);
    const result = (await json(recv)) as RecvResult;
    return { mbps: goodput(result, skipS * 10, seconds * 10 - 2), samples: result.samples };
  }

  return { tool, json, pingMs, goodputMbps };
}

declare module 'vitest' {
  interface TaskMeta {
    /** A measurement test: its figures depend on the host keeping up (test/reporters/measurements.ts counts them). */
    measurement?: boolean;
  }
}

/** The note of a measurement test skipped because the host was too busy (the reporter looks for it). */
export const HOST_BUSY_NOTE = 'host too busy';

/**
 * A measurement test's figures (rates, round trips, agreement) are asserted
 * only when the host kept up. Call this after the functional assertions and
 * before the figures: with `problems` (the run's or the test's own fidelity
 * check) it says on stderr what was not asserted and why, and skips the
 * rest of the test with the figures in the note; never a silent pass.
 */
export function assertFiguresOnlyIfHostKeptUp(ctx: TestContext, what: string, problems: string[]): void {
  ctx.task.meta.measurement = true;
  if (problems.length === 0) return;
  process.stderr.write(`${what}: not asserted, this host was too busy (${problems.join('; ')})\n`);
  ctx.skip(`${HOST_BUSY_NOTE}: ${problems.join('; ')}`);
}

/**
 * A test judges its figures only when the host had CPU to spare: the runs'
 * own rules (results/fidelity.ts), and the CPUs saturated in at most 5% of
 * the samples, where a run's verdict allows 20%: a test measures seconds,
 * in which a short stall already shows (a kernel link's goodput 6.5% low
 * beside another job that the 20% rule let through).
 */
export const TEST_SATURATED_MAX = 0.05;

export function hostProblems(health: EmulationHealth): string[] {
  const problems = healthProblems(health);
  const share = health.host.saturatedShare;
  if (problems.length === 0 && share > TEST_SATURATED_MAX) problems.push(`the CPUs were under ${100 * HOST_IDLE_MIN}% idle in ${(100 * share).toFixed(0)}% of the test`);
  return problems;
}

/**
 * Watch what the host gives a test (hostProblems): its CPUs, and the native
 * link emulator's process when there is one.
 */
export function watchHost(options: { emulatorPid?: () => number | null } = {}) {
  let host = new HostCpuMonitor();
  host.start();
  const emulator = options.emulatorPid
    ? new ProcessCpuMonitor(() => {
      const pid = options.emulatorPid!();
      return new Map(pid === null ? [] : [[`emulator ${pid}`, pid]]); // (a test may build several networks)
    })
    : null;
  emulator?.start();
  return {
    /**
     * The measured window starts now: the host's CPUs are judged from here on
     * (a test's own start-up, building namespaces and starting its traffic
     * tools, saturates two cores for a moment and is not what it measures).
     */
    measuring(): void {
      host.stop();
      host = new HostCpuMonitor();
      host.start();
    },
    /** Ends the watch: skips the rest of the test (its figures) unless the host kept up. */
    keptUp(ctx: TestContext, what: string): void {
      const cpu = host.stop();
      // the busiest of the link emulators the test ran
      const linkEmulator = [...(emulator?.stop().values() ?? [])].sort((x, y) => y.busyShare - x.busyShare)[0] ?? null;
      assertFiguresOnlyIfHostKeptUp(ctx, what, hostProblems({ host: cpu, linkEmulator, agents: [], runnerLoopLagMaxMs: 0, training: false }));
    },
  };
}
