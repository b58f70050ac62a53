import { defineConfig } from 'vitest/config';

// Tests that build network namespaces (test/emu, root only) share the
// host's namespace list and ports, and measure rates: they run one file at
// a time, after the unit tests (which run in parallel), so nothing else
// competes for the two cores while they measure.
export default defineConfig({
  test: {
    // the default report, then how many measurement tests asserted their figures (test/reporters/measurements.ts)
    reporters: ['default', './test/reporters/measurements.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/emu/**'], testTimeout: 30_000, sequence: { groupOrder: 0 } } },
      {
        test: {
          name: 'emu', include: ['test/emu/**/*.test.ts'], exclude: ['test/emu/fixtures/**'],
          fileParallelism: false, globalSetup: ['test/emu/global-setup.ts'], testTimeout: 30_000, hookTimeout: 30_000, sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
