import { defineConfig } from 'vitest/config';
import { vmspawn, vmTag } from './src/vitest/plugin.js';

/**
 * The core end-to-end files, run again on machines without vsock: `VMSPAWN_VSOCK=none vitest run
 * --project e2e-no-vsock` (npm run test:e2e-no-vsock). Only defined with that variable set, so a
 * plain `vitest run` does not boot them twice. Tests of what only vsock carries skip, saying so.
 */
const NO_VSOCK_FILES = ['machine', 'data-path', 'guest-io', 'waits', 'matchers'].map((name) => `test/e2e/${name}.test.ts`);

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
      ...(process.env.VMSPAWN_VSOCK === 'none'
        ? [
            {
              // Without vsock a boot under TCG takes 50–75 s alone; two at once on two cores can pass 120 s.
              plugins: [vmspawn({ artifactsDir: 'test-results/e2e-no-vsock', testTimeout: 240_000, defaults: { bootTimeout: 240_000 } })],
              test: {
                name: 'e2e-no-vsock',
                include: NO_VSOCK_FILES,
                testTimeout: 240_000,
                hookTimeout: 240_000,
                maxWorkers: 2,
                sequence: { groupOrder: 2 },
              },
            },
          ]
        : []),
    ],
  },
});
