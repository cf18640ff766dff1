import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts (and afterwards stops) the real PostgreSQL server every test uses.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000, // server shutdown may wait up to 10 s before SIGKILL
    pool: 'forks',
  },
})
