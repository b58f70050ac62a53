import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';

describe('the native link emulator\'s packet parser', () => {
  it('survives a million random and nearly-valid buffers and agrees with a reference parser', async () => {
    const r = await execa(join(PACKAGE_ROOT, 'native', 'build', 'packet-fuzz'), ['1000000', '11'], { reject: false });
    expect(r.stdout.trim()).toBe('ok 1000000');
    expect(r.exitCode).toBe(0);
  });
});
