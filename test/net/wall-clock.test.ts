/**
 * The emulated run's clock is one clock for every process on the host: an
 * agent's reading always falls between two of the runner's taken before it
 * started and after it answered, however busy the host (each process's
 * performance.timeOrigin, the old base, could be milliseconds off when the
 * process was preempted while taking it: a message then seemed to arrive
 * before it left).
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WallClock } from '../../src/net/emu/transport.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';

const TRANSPORT = pathToFileURL(join(PACKAGE_ROOT, 'dist', 'src', 'net', 'emu', 'transport.js')).href;

describe('the emulated runs\' clock', () => {
  it('every process reads the same clock: 16 processes started at once each read a time between the runner\'s before and after', async () => {
    const script = `const { WallClock } = await import(${JSON.stringify(TRANSPORT)}); process.stdout.write(String(WallClock.epochNow()));`;
    const readings = await Promise.all(Array.from({ length: 16 }, async () => {
      const before = WallClock.epochNow();
      const child = await execa(process.execPath, ['--input-type=module', '-e', script]);
      return { before, child: Number(child.stdout), after: WallClock.epochNow() };
    }));
    for (const r of readings) expect(r.before <= r.child && r.child <= r.after, JSON.stringify(r)).toBe(true);
  }, 60_000);

  it('counts seconds from its epoch', () => {
    const epoch = WallClock.epochNow() - 1500;
    const t = new WallClock(epoch).now();
    expect(t).toBeGreaterThanOrEqual(1.5);
    expect(t).toBeLessThan(60);
  });
});
