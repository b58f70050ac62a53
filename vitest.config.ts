import { defineConfig } from 'vitest/config';

// Tests that build network namespaces (test/emu, root only) share the
// host's namespace list and ports: they run one file at a time, apart from
// the unit tests, which run in parallel.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/emu/**'] } },
      {
        test: {
          name: 'emu', include: ['test/emu/**/*.test.ts'], exclude: ['test/emu/fixtures/**'],
          fileParallelism: false, testTimeout: 30_000, hookTimeout: 30_000,
        },
      },
    ],
  },
});
