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
import { availableParallelism, freemem } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin, ViteUserConfig } from 'vitest/config';
import type { MachineOptions } from '../options/machine-options.js';
import { MACHINE_DEFAULTS } from '../options/resolve-options.js';
import { parseSize } from '../options/size.js';
import { planMaxWorkers } from './concurrency.js';
import { PROVIDED_CONFIG_KEY, PROVIDED_HOOK_TIMEOUT_KEY, resolveVmspawnConfig, type VmspawnConfig } from './config.js';
import { decideHost } from './host-decisions.js';
import { PROVIDED_RUN_KEY, type RunAnnouncements } from './run-announcements.js';
import { tagsToDeclare } from './vm-tag.js';
import { VmSummaryReporter } from './summary-reporter.js';

// The global setup sits next to this file, as .ts in the sources and .js once built.
const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
const GLOBAL_SETUP = fileURLToPath(new URL(`./global-setup.${extension}`, import.meta.url));
const MATCHERS_SETUP = fileURLToPath(new URL(`./matchers-setup.${extension}`, import.meta.url));

export function vmspawn(config: VmspawnConfig = {}): Plugin {
  let summaryAdded = false;
  return {
    name: 'vitest-vmspawn',
    configureVitest({ vitest, project }) {
      // Shared machines fit their shutdown into the hook timeout the workers run with.
      project.provide(PROVIDED_HOOK_TIMEOUT_KEY, project.config.hookTimeout);
      // The end-of-run summary is a reporter next to the user's own; added before vitest creates them.
      if (!config.runSummary || summaryAdded) return;
      summaryAdded = true;
      (vitest.config as unknown as { reporters: unknown[] }).reporters.push(new VmSummaryReporter());
    },
    async config(userConfig: ViteUserConfig) {
      const root = resolve(userConfig.root ?? process.cwd());
      const provided = resolveVmspawnConfig(config, root, resolve);
      const tags = tagsToDeclare(userConfig.test?.tags);
      const run = await planRun(provided.defaults, userConfig.test?.maxWorkers === undefined && userConfig.test?.fileParallelism !== false);
      return {
        test: {
          provide: { [PROVIDED_CONFIG_KEY]: provided, [PROVIDED_RUN_KEY]: run },
          globalSetup: [GLOBAL_SETUP],
          setupFiles: [MATCHERS_SETUP],
          ...(tags.length > 0 && { tags }),
          ...(run.concurrency && { maxWorkers: run.concurrency.maxWorkers }),
        },
      };
    },
  };
}

/** The host decisions of the run and, unless the project chose, how many test files run at once. */
async function planRun(defaults: MachineOptions, pickMaxWorkers: boolean): Promise<RunAnnouncements> {
  const host = await decideHost(defaults);
  if (!pickMaxWorkers) return { lines: host.lines };
  const concurrency = planMaxWorkers({
    cores: availableParallelism(),
    accelerator: host.accelerator.accelerator,
    availableMemoryBytes: freemem(),
    guestRamBytes: parseSize(defaults.ram ?? MACHINE_DEFAULTS.ram) ?? 0,
    guestCpus: defaults.cpus ?? MACHINE_DEFAULTS.cpus,
  });
  return { lines: host.lines, concurrency };
}

/**
 * The `vm` tag's definition, for a config with projects: vitest checks `--tags-filter` against every
 * project, so declare it at the root (`test: { tags: [vmTag] }`) as well as adding the plugin.
 */
export { VM_TAG_DEFINITION as vmTag } from './vm-tag.js';
export type { PreserveArtifacts, VmspawnConfig } from './config.js';
