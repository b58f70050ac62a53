/** What the emulation tests share: the traffic tool, and the check that each test left nothing behind. */
import { afterEach, expect } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { listNamespaces } from '../../src/net/emu/exec.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import type { EmulatedLinks } from '../../src/net/emu/links.js';

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
    const { samples } = await json(recv);
    const steady = samples.slice(skipS * 10, seconds * 10 - 2);
    return { mbps: (steady.reduce((s: number, x: number) => s + x, 0) * 8) / (steady.length * 0.1) / 1e6, samples };
  }

  return { tool, json, pingMs, goodputMbps };
}
