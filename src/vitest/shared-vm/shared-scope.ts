/**
 * The machine of one `useVm` call: how it starts (booted, or taken from the worker's reusable
 * machines and reset) and how it ends (shut down within the hook, or given back for reuse).
 */
import { rm } from 'node:fs/promises';
import { PROVIDED_HOOK_TIMEOUT_KEY } from '../config.js';
import { bootStartOptions } from '../machine-of-test.js';
import { providedConfig, resolveMachineOptions, safeInject } from '../provided.js';
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

/** Whether a test's signal was aborted because the run was stopped (vitest's TestRunAbortError), not by the test's timeout. */
export function isRunStop(reason: unknown): boolean {
  return (reason as Error | undefined)?.name === 'TestRunAbortError';
}

export class SharedVmScope {
  readonly lifetime: SharedLifetime<SharedMachine>;
  /** Aborts the boot when the run is stopped; a test's timeout does not, its neighbours may still get the machine. */
  readonly #runStop = new AbortController();
  constructor(
    readonly id: string,
    readonly label: string,
    readonly artifactsDir: string,
    options: SharedVmOptions,
    sharing: SharingOptions,
    /** The name of its boot progress lines: `file > describe (shared)`. */
    readonly bootLabel: string = label,
  ) {
    this.lifetime = new SharedLifetime<SharedMachine>(
      {
        start: async () => {
          const resolved = await resolveMachineOptions(options);
          const boot = () => bootSharedMachine(resolved, this.artifactsDir, this.bootLabel, bootStartOptions(this.bootLabel, this.#runStop.signal));
          if (sharing.reuse !== 'worker') return boot();
          return acquireReusable(workerPool(), machineOptionsKey(resolved), {
            start: boot,
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

  /** A test that waits for the machine: when the run is stopped, its signal aborts the boot. */
  followRunStop(signal: AbortSignal): void {
    if (signal.aborted) {
      if (isRunStop(signal.reason)) this.#runStop.abort(signal.reason);
      return;
    }
    signal.addEventListener('abort', () => {
      if (isRunStop(signal.reason)) this.#runStop.abort(signal.reason);
    }, { once: true });
  }
}
