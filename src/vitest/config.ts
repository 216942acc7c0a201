/**
 * Project-wide settings of the vitest integration, given to the `vmspawn()` plugin in the vitest
 * config and handed to the test workers through vitest's provide/inject.
 */
import { z } from 'zod';
import { InvalidOptionsError } from '../errors.js';
import type { DefaultImage } from '../image/default-image.js';
import { diskNetworkKeysAt } from '../options/disk-network-schema.js';
import type { MachineOptions } from '../options/machine-options.js';
import { describeIssues } from '../options/resolve-options.js';
import { kernelFileSystemProblem } from '../options/check-artifacts-dir.js';
import { MACHINE_OPTION_NAMES, machineOptionsSchema, milliseconds } from '../options/schema.js';

/** When a test's artifacts directory is kept. */
export type PreserveArtifacts = 'failures-only' | 'always' | 'never';

export interface VmspawnConfig {
  /**
   * Machine options every VM test starts from; a test's own options override them one by one
   * (credentials are merged name by name). Without `linux` or `image` here or in the test, the
   * default Debian image is booted.
   * @default {}
   */
  defaults?: Omit<MachineOptions, 'artifactsDir'>;
  /**
   * Root of the per-test artifact directories, relative to the project root. It must be writable;
   * /proc, /sys and /dev (but /dev/shm) are refused.
   * @default 'test-results'
   */
  artifactsDir?: string;
  /**
   * Which tests keep their artifacts directory.
   * @default 'failures-only'
   */
  preserveArtifacts?: PreserveArtifacts;
  /**
   * Timeout of VM tests that set none, boot included, in milliseconds (at most 2147483647, the
   * longest a timer can wait).
   * @default 180000
   */
  testTimeout?: number;
  /**
   * Build the default image (if the cache has none) once in global setup, before the workers start,
   * so its progress shows and workers do not wait on each other.
   * @default true when `defaults` gives none of `linux`, `image` and `directory`
   */
  prepareDefaultImage?: boolean;
  /**
   * Debug mode: a failed VM test's machine keeps running, the run prints the `ssh` commands that open a
   * shell in it and follow its journal, and waits until the printed flag file is deleted (or the guest
   * powers off, or Ctrl-C). `VMSPAWN_DEBUG=1` or `0` in the environment overrides it.
   * @default false
   */
  debug?: boolean;
  /**
   * Print each VM test's boot stages (QEMU started, kernel, initrd/init, basic.target, ready, SSH) with
   * the seconds since QEMU started, one plain line each on stderr, as they happen.
   * @default true
   */
  bootProgress?: boolean;
  /**
   * At the end of the run, print one line per VM test: its result, boot time, how its machine ended
   * and its artifacts path.
   * @default false
   */
  runSummary?: boolean;
}

/** What the workers receive. */
export interface ProvidedVmspawnConfig {
  defaults: Omit<MachineOptions, 'artifactsDir'>;
  /** Absolute. */
  artifactsDir: string;
  preserveArtifacts: PreserveArtifacts;
  testTimeout: number;
  prepareDefaultImage: boolean;
  debug: boolean;
  bootProgress: boolean;
  runSummary: boolean;
}

export const PROVIDED_CONFIG_KEY = 'vitest-vmspawn:config';
export const PROVIDED_IMAGE_KEY = 'vitest-vmspawn:default-image';
/** vitest's resolved `hookTimeout`, which bounds the shutdown of shared machines in hooks. */
export const PROVIDED_HOOK_TIMEOUT_KEY = 'vitest-vmspawn:hook-timeout';

declare module 'vitest' {
  export interface ProvidedContext {
    'vitest-vmspawn:config': ProvidedVmspawnConfig;
    'vitest-vmspawn:default-image': DefaultImage;
    'vitest-vmspawn:hook-timeout': number;
  }
}

export const CONFIG_DEFAULTS = {
  artifactsDir: 'test-results',
  preserveArtifacts: 'failures-only',
  testTimeout: 180_000,
} as const;

const configSchema = z.strictObject({
  defaults: machineOptionsSchema.omit({ artifactsDir: true }).optional(),
  artifactsDir: z.string().min(1, { error: 'expected a directory path' }).optional(),
  preserveArtifacts: z.enum(['failures-only', 'always', 'never'], { error: "expected 'failures-only', 'always' or 'never'" }).optional(),
  testTimeout: milliseconds('the test timeout').optional(),
  prepareDefaultImage: z.boolean({ error: 'expected true or false' }).optional(),
  debug: z.boolean({ error: 'expected true or false' }).optional(),
  bootProgress: z.boolean({ error: 'expected true or false' }).optional(),
  runSummary: z.boolean({ error: 'expected true or false' }).optional(),
});

const PLUGIN_OPTION_NAMES = Object.keys(configSchema.shape);
const DEFAULTS_OPTION_NAMES = MACHINE_OPTION_NAMES.filter((name) => name !== 'artifactsDir');

/** Names accepted at a place in the plugin options: machine options inside `defaults`, the plugin's own elsewhere. */
function optionNamesAt(path: readonly PropertyKey[]): readonly string[] {
  return path[0] === 'defaults' ? (diskNetworkKeysAt(path.slice(1)) ?? DEFAULTS_OPTION_NAMES) : PLUGIN_OPTION_NAMES;
}

/** Validates the plugin options (strictly: a typo is an error) and resolves paths against `root`. */
export function resolveVmspawnConfig(config: unknown, root: string, resolvePath: (root: string, path: string) => string): ProvidedVmspawnConfig {
  const parsed = configSchema.safeParse(config ?? {});
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues, optionNamesAt).map((problem) =>
      problem.option === 'defaults.artifactsDir'
        ? { ...problem, message: "is chosen per test by the plugin: set the plugin's own artifactsDir (the root of the per-test directories)" }
        : problem,
    );
    throw new InvalidOptionsError(problems, 'vitest-vmspawn plugin options');
  }
  const { defaults = {}, artifactsDir, preserveArtifacts, testTimeout, prepareDefaultImage, debug, bootProgress, runSummary } = parsed.data;
  const artifactsRoot = resolvePath(root, artifactsDir ?? CONFIG_DEFAULTS.artifactsDir);
  const inKernelFileSystem = kernelFileSystemProblem(artifactsRoot);
  if (inKernelFileSystem) throw new InvalidOptionsError([inKernelFileSystem], 'vitest-vmspawn plugin options');
  return {
    defaults,
    artifactsDir: artifactsRoot,
    preserveArtifacts: preserveArtifacts ?? CONFIG_DEFAULTS.preserveArtifacts,
    testTimeout: testTimeout ?? CONFIG_DEFAULTS.testTimeout,
    prepareDefaultImage: prepareDefaultImage ?? (defaults.linux === undefined && defaults.image === undefined && defaults.directory === undefined),
    debug: debug ?? false,
    bootProgress: bootProgress ?? true,
    runSummary: runSummary ?? false,
  };
}
