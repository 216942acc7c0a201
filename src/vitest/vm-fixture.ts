/**
 * The `vm` fixture: boots a machine for one test with the project defaults and the test's options,
 * into the test's own artifacts directory, and after the test shuts it down and keeps or deletes
 * the artifacts. A boot that outlives the test's timeout is aborted through the test's signal.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, type TestContext } from 'vitest';
import { InvalidOptionsError } from '../errors.js';
import { defaultImage } from '../image/default-image.js';
import { Machine } from '../machine/machine.js';
import type { StartedMachine } from '../machine/started-machine.js';
import { checkArtifactsDir } from '../options/check-artifacts-dir.js';
import type { MachineOptions } from '../options/machine-options.js';
import { testArtifactsDirName } from './artifact-names.js';
import { CONFIG_DEFAULTS, PROVIDED_CONFIG_KEY, PROVIDED_HOOK_TIMEOUT_KEY, PROVIDED_IMAGE_KEY, type ProvidedVmspawnConfig } from './config.js';
import { testLabel } from './boot-progress-lines.js';
import { bootStartOptions, leaveOutRunAnnouncements, reportFailedBoot, reportMachineOfTest, watchMachineOfTest } from './machine-of-test.js';
import { mergeMachineOptions } from './merge-options.js';
import { PROVIDED_RUN_KEY } from './run-announcements.js';
import { rejectUnknownTestOptions } from './test-options.js';

/** The artifact vitest-vmspawn records on a test whose artifacts were kept. */
export interface VmArtifactsArtifact {
  type: 'vitest-vmspawn:artifacts';
  /** The test's artifacts directory. */
  directory: string;
  /** Machine summary (boot timings, exit). */
  summary: StartedMachine['summary'];
}

declare module 'vitest' {
  interface TestArtifactRegistry {
    'vitest-vmspawn:artifacts': VmArtifactsArtifact;
  }
}

/** Reads the plugin's settings; without the plugin, the defaults. */
export function providedConfig(): ProvidedVmspawnConfig {
  const provided = safeInject(PROVIDED_CONFIG_KEY);
  return (
    provided ?? {
      defaults: {},
      artifactsDir: join(process.cwd(), CONFIG_DEFAULTS.artifactsDir),
      preserveArtifacts: CONFIG_DEFAULTS.preserveArtifacts,
      testTimeout: CONFIG_DEFAULTS.testTimeout,
      prepareDefaultImage: true,
      debug: false,
      bootProgress: true,
      runSummary: false,
    }
  );
}

/** Whether the vmspawn() plugin is in this worker's project. */
export function pluginInProject(): boolean {
  return safeInject(PROVIDED_CONFIG_KEY) !== undefined;
}

/** Starts the test's machine; `onCleanup` gets the teardown. */
export async function startTestMachine(
  context: Pick<TestContext, 'task' | 'signal' | 'annotate'>,
  testOptions: MachineOptions,
  onCleanup: (cleanup: () => Promise<void>) => void,
): Promise<StartedMachine> {
  leaveOutRunAnnouncements();
  const config = providedConfig();
  const options = await resolveMachineOptions(testOptions);
  const artifactsDir = join(config.artifactsDir, artifactsDirName(context));
  const machine = new Machine({ ...options, artifactsDir }); // throws on bad options, before anything else
  const unusable = await checkArtifactsDir(artifactsDir, { signal: context.signal });
  if (unusable) throw new InvalidOptionsError([unusable], 'vitest-vmspawn plugin options');
  await rm(artifactsDir, { recursive: true, force: true });
  await mkdir(artifactsDir, { recursive: true });
  const vm = await machine.start(bootStartOptions(testLabel(context.task), context.signal)).catch(async (error: unknown) => {
    await reportFailedBoot(context, artifactsDir);
    throw error;
  });
  const beforeStop = watchMachineOfTest(vm, context, { artifactsDir, journalRateLimit: machine.options.journalRateLimit });

  onCleanup(async () => {
    await beforeStop();
    await vm.stop();
    const failed = context.task.result?.state === 'fail';
    const keep = config.preserveArtifacts === 'always' || (config.preserveArtifacts === 'failures-only' && failed);
    await reportMachineOfTest(context, vm, artifactsDir, keep);
    if (!keep) await rm(artifactsDir, { recursive: true, force: true });
  });
  return vm;
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

function artifactsDirName(context: Pick<TestContext, 'task'>): string {
  const { task } = context;
  const titles: string[] = [];
  for (let suite = task.suite; suite && suite.type === 'suite' && suite.name; suite = suite.suite) titles.unshift(suite.name);
  titles.push(task.name);
  return testArtifactsDirName({
    file: task.file.name,
    titles,
    retry: task.result?.retryCount ?? 0,
    repeat: task.result?.repeatCount ?? 0,
  });
}

/** inject() outside a vitest worker (or for a key nobody provided) gives undefined instead of throwing. */
export function safeInject<K extends typeof PROVIDED_CONFIG_KEY | typeof PROVIDED_IMAGE_KEY | typeof PROVIDED_RUN_KEY | typeof PROVIDED_HOOK_TIMEOUT_KEY>(key: K): ReturnType<typeof inject<K>> | undefined {
  try {
    return inject(key);
  } catch {
    return undefined;
  }
}
