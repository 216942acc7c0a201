import { defineConfig } from 'vitest/config';
import { vmspawn, vmTag } from './src/vitest/plugin.js';

export default defineConfig({
  test: {
    // `--tags-filter=vm` / `'!vm'` selects or skips the VM tests, in every project.
    tags: [vmTag],
    projects: [
      {
        // Unit tests first: they take a second and catch most mistakes.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        plugins: [vmspawn({ artifactsDir: 'test-results/e2e', testTimeout: 240_000 })],
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Guests run under TCG on small machines: a boot takes seconds, and two at once fill two cores.
          testTimeout: 240_000,
          hookTimeout: 240_000,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
