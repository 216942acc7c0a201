import { defineConfig } from 'vitest/config';
import { vmspawn } from 'vitest-vmspawn/plugin';

export default defineConfig({
  // Project-wide machine defaults; without linux or image, tests boot the default Debian image.
  plugins: [vmspawn({ defaults: { ram: '1G' }, artifactsDir: 'test-results/examples' })],
  test: { include: ['examples/**/*.test.ts'] },
});
