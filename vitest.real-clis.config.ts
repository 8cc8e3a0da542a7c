import { defineConfig } from 'vitest/config';

/**
 * `npm run test:real-clis`: the real agent CLIs (installed by scripts/install-agent-clis.sh, outside node_modules)
 * driven by the built runner against the real control plane, offline, with local fake model APIs. Slower than the
 * main suite: each job starts a real CLI.
 */
export default defineConfig({
  test: {
    include: ['test/real-clis/**/*.spec.ts'],
    env: { FOUNDEROS_REAL_CLIS: '1' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
