/**
 * The machine of one `useVm` call: how it starts (booted, or taken from the worker's reusable
 * machines and reset) and how it ends (shut down within the hook, or given back for reuse).
 */
import { rm } from 'node:fs/promises';
import { PROVIDED_HOOK_TIMEOUT_KEY } from '../config.js';
import { providedConfig, resolveMachineOptions, safeInject } from '../vm-fixture.js';
import { machineOptionsKey } from './machine-key.js';
import { bootSharedMachine, endSharedMachine, type SharedMachine } from './shared-machine.js';
import { SharedLifetime } from './shared-lifetime.js';
import type { SharedVmOptions, SharingOptions } from './use-vm.js';
import { acquireReusable, ReusePool } from './worker-pool.js';

/** vitest's default `hookTimeout`, for runs without the plugin. */
const DEFAULT_HOOK_TIMEOUT = 10_000;

const POOL_KEY = Symbol.for('vitest-vmspawn:worker-machines');
export function workerPool(): ReusePool<SharedMachine> {
  const holder = globalThis as { [POOL_KEY]?: ReusePool<SharedMachine> };
  return (holder[POOL_KEY] ??= new ReusePool<SharedMachine>());
}

function hookTimeout(): number {
  return safeInject(PROVIDED_HOOK_TIMEOUT_KEY) ?? DEFAULT_HOOK_TIMEOUT;
}

/** Ends the machines this worker kept for reuse. */
export async function endWorkerMachines(): Promise<void> {
  const { preserveArtifacts } = providedConfig();
  await Promise.all(workerPool().drain().map((shared) => endSharedMachine(shared, hookTimeout(), preserveArtifacts)));
}

export class SharedVmScope {
  readonly lifetime: SharedLifetime<SharedMachine>;
  constructor(
    readonly id: string,
    readonly label: string,
    readonly artifactsDir: string,
    options: SharedVmOptions,
    sharing: SharingOptions,
  ) {
    this.lifetime = new SharedLifetime<SharedMachine>(
      {
        start: async () => {
          const resolved = await resolveMachineOptions(options);
          if (sharing.reuse !== 'worker') return bootSharedMachine(resolved, this.artifactsDir);
          return acquireReusable(workerPool(), machineOptionsKey(resolved), {
            start: () => bootSharedMachine(resolved, this.artifactsDir),
            reset: async (shared) => {
              await sharing.reset?.(shared.vm);
            },
            end: async (shared, error) => {
              console.warn(`vitest-vmspawn: the reset of the reused machine failed (${String(error)}); it is shut down and a fresh one booted`);
              await endSharedMachine(shared, hookTimeout(), providedConfig().preserveArtifacts);
            },
          });
        },
        end: async (shared) => {
          // A boot that failed left its artifacts for the failed tests, unless none are kept.
          if (!shared) {
            if (providedConfig().preserveArtifacts === 'never') await rm(this.artifactsDir, { recursive: true, force: true });
            return;
          }
          if (workerPool().holds(shared)) workerPool().giveBack(shared);
          else await endSharedMachine(shared, hookTimeout(), providedConfig().preserveArtifacts);
        },
      },
      `the shared machine of ${label}`,
    );
  }
}
