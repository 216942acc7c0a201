/**
 * What a test worker was given by the vmspawn() plugin (through vitest's provide/inject), with the
 * plugin's defaults for a project without it, and the machine options a test resolves to from them.
 */
import { resolve } from 'node:path';
import { inject } from 'vitest';
import { defaultImage } from '../image/default-image.js';
import type { MachineOptions } from '../options/machine-options.js';
import { PROVIDED_CONFIG_KEY, PROVIDED_HOOK_TIMEOUT_KEY, PROVIDED_IMAGE_KEY, resolveVmspawnConfig, type ProvidedVmspawnConfig } from './config.js';
import { mergeMachineOptions } from './merge-options.js';
import { PROVIDED_RUN_KEY } from './run-announcements.js';
import { rejectUnknownTestOptions } from './test-options.js';

/** Reads the plugin's settings; without the plugin, its defaults. */
export function providedConfig(): ProvidedVmspawnConfig {
  return safeInject(PROVIDED_CONFIG_KEY) ?? resolveVmspawnConfig({}, process.cwd(), resolve);
}

/** Whether the vmspawn() plugin is in this worker's project. */
export function pluginInProject(): boolean {
  return safeInject(PROVIDED_CONFIG_KEY) !== undefined;
}

/** The project defaults with `testOptions` over them, and the default image when they name no image. */
export async function resolveMachineOptions(testOptions: MachineOptions): Promise<MachineOptions> {
  rejectUnknownTestOptions(testOptions);
  const requested = mergeMachineOptions(providedConfig().defaults, testOptions);
  return requested.linux || requested.image || requested.directory ? requested : await withDefaultImage(requested);
}

/** Boots the default image's initramfs flavour; its kernel arguments come before the test's. */
async function withDefaultImage(options: MachineOptions): Promise<MachineOptions> {
  const image = safeInject(PROVIDED_IMAGE_KEY) ?? (await defaultImage());
  const { linux, initrd, kernelArgs } = image.initramfs;
  return { ...options, linux, initrd, kernelArgs: [...kernelArgs, ...(options.kernelArgs ?? [])] };
}

/** inject() outside a vitest worker (or for a key nobody provided) gives undefined instead of throwing. */
export function safeInject<K extends typeof PROVIDED_CONFIG_KEY | typeof PROVIDED_IMAGE_KEY | typeof PROVIDED_RUN_KEY | typeof PROVIDED_HOOK_TIMEOUT_KEY>(key: K): ReturnType<typeof inject<K>> | undefined {
  try {
    return inject(key);
  } catch {
    return undefined;
  }
}
