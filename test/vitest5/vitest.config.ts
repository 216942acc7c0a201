/**
 * The run of scripts/vitest5.sh: the unit tests and one boot under vitest 5 on Node 22. The script
 * copies this directory into .cache/vitest5, where `vitest`, `vitest/*` and `vitest-vmspawn` resolve
 * to the versions installed there (vitest 5 and the packed package), never to the repository's own
 * node_modules (vitest 4).
 */
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vitest/config';
import { vmspawn, vmTag } from 'vitest-vmspawn/plugin';

const here = import.meta.dirname;
const repository = resolve(here, '../..');

/** The unit tests live in the repository: their imports of vitest are resolved from here instead. */
const vitestFromHere: Plugin = {
  name: 'vitest-from-the-vitest5-cache',
  enforce: 'pre',
  resolveId(source, _importer, options) {
    if (source !== 'vitest' && !source.startsWith('vitest/') && !source.startsWith('@vitest/')) return null;
    return this.resolve(source, resolve(here, 'package.json'), { ...options, skipSelf: true });
  },
};

export default defineConfig({
  test: {
    tags: [vmTag],
    projects: [
      {
        root: repository,
        plugins: [vitestFromHere],
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        plugins: [vmspawn({ artifactsDir: resolve(repository, 'test-results/vitest5'), preserveArtifacts: 'always', runSummary: true, testTimeout: 240_000 })],
        test: { name: 'e2e', include: ['e2e/*.test.ts'], testTimeout: 240_000, hookTimeout: 240_000, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
