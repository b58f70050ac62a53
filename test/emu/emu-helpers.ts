/** What the emulation tests share: the traffic tool, and the check that each test left nothing behind. */
import { afterEach, expect } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { listNamespaces } from '../../src/net/emu/exec.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';

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
