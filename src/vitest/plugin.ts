/**
 * The vitest plugin: validates the project-wide settings when the config loads, hands them to the
 * workers, and registers a global setup that reaps machines a killed run left behind and builds
 * the default image once, before any worker starts. A setup file registers the matchers
 * (`expect(vm.journal).toHaveNoEntries(…)`, see src/matchers) in every test file.
 *
 * ```ts
 * // vitest.config.ts
 * import { defineConfig } from 'vitest/config';
 * import { vmspawn } from 'vitest-vmspawn/plugin';
 * export default defineConfig({ plugins: [vmspawn({ defaults: { ram: '1G' } })] });
 * ```
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin, ViteUserConfig } from 'vitest/config';
import { PROVIDED_CONFIG_KEY, resolveVmspawnConfig, type VmspawnConfig } from './config.js';

// The global setup sits next to this file, as .ts in the sources and .js once built.
const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
const GLOBAL_SETUP = fileURLToPath(new URL(`./global-setup.${extension}`, import.meta.url));
const MATCHERS_SETUP = fileURLToPath(new URL(`./matchers-setup.${extension}`, import.meta.url));

export function vmspawn(config: VmspawnConfig = {}): Plugin {
  return {
    name: 'vitest-vmspawn',
    config(userConfig: ViteUserConfig) {
      const root = resolve(userConfig.root ?? process.cwd());
      const provided = resolveVmspawnConfig(config, root, resolve);
      return { test: { provide: { [PROVIDED_CONFIG_KEY]: provided }, globalSetup: [GLOBAL_SETUP], setupFiles: [MATCHERS_SETUP] } };
    },
  };
}

export type { PreserveArtifacts, VmspawnConfig } from './config.js';
