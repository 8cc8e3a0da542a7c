import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    // The real agent CLIs download a few hundred MB: they run on their own, with `npm run test:real-clis`.
    exclude: ['test/real-clis/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
