import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources; ZCSIM_INVARIANTS=1 (set by `npm test`) turns on the
// kernel's debug-mode invariant checks after every operation. The global setup makes the run's
// folder for test files (under .cache, removed at the end) and finds (or extracts, once) the
// Chromium that the browser test drives.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/run-dir.ts', 'test/browser/chromium-setup.ts'],
    // Bounds against a hang, not measures of speed: generous, because two shared cores under
    // load run a test several times slower than an idle machine does.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
