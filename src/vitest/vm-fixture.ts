/**
 * The `vm` fixture: boots a machine for one test with the project defaults and the test's options,
 * into the test's own artifacts directory, and after the test shuts it down and keeps or deletes
 * the artifacts. A boot that outlives the test's timeout is aborted through the test's signal.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'vitest';
import { InvalidOptionsError } from '../errors.js';
import { Machine } from '../machine/machine.js';
import type { StartedMachine } from '../machine/started-machine.js';
import { checkArtifactsDir } from '../options/check-artifacts-dir.js';
import type { MachineOptions } from '../options/machine-options.js';
import { testArtifactsDirName } from './artifact-names.js';
import { testLabel } from './boot-progress-lines.js';
import { bootStartOptions, leaveOutRunAnnouncements, reportFailedBoot, reportMachineOfTest, watchMachineOfTest } from './machine-of-test.js';
import { providedConfig, resolveMachineOptions } from './provided.js';

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

