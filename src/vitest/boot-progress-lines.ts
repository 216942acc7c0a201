/**
 * Boot progress of VM tests as plain lines on the run's stderr, one per stage:
 * `vitest-vmspawn: crash.test.ts > crashes: kernel started (1.2 s)`. Written by the worker, so they
 * appear as the boot goes on, from parallel workers alike; plain lines, no cursor movement, so a CI log
 * stays readable. Also what the end-of-run summary knows about each test's machine (task meta).
 */
import type { TestContext } from 'vitest';
import type { BootStage } from '../machine/boot-progress.js';
import type { StartedMachine } from '../machine/started-machine.js';

/** What the end-of-run summary reads from a VM test (its task meta). */
export interface VmTestRecord {
  /** Milliseconds from QEMU's start to ready (SSH answered, or READY=1 without SSH). */
  bootMs: number | undefined;
  /** The guest's exit status, and how the machine ended. */
  exitStatus: number | undefined;
  endedBy: string | undefined;
  /** The kept artifacts directory, as shown to the user; undefined when deleted. */
  artifactsDir: string | undefined;
  /** A test on a shared machine (useVm): the machine's name as its boot progress showed it. */
  sharedMachine?: string;
}

export const RECORD_META_KEY = 'vitest-vmspawn:machine';

declare module 'vitest' {
  interface TaskMeta {
    /** The test's machine, for the end-of-run summary. */
    'vitest-vmspawn:machine'?: VmTestRecord;
  }
}

/** A test's name as the progress lines show it: `file > describe > test`. */
export function testLabel(task: TestContext['task']): string {
  const names: string[] = [task.name];
  for (let suite = task.suite; suite && suite.name; suite = suite.suite) names.unshift(suite.name);
  return [task.file.name, ...names].join(' > ');
}

export function formatStageLine(label: string, stage: BootStage): string {
  return `vitest-vmspawn: ${label}: ${stage.label} (${(stage.afterMs / 1000).toFixed(1)} s)\n`;
}

/** A progress listener for `start({ onBootStage })` that writes each stage to stderr, under `label` (a test's, or a shared machine's). */
export function printBootStages(label: string, write: (text: string) => void = (text) => process.stderr.write(text)): (stage: BootStage) => void {
  return (stage) => write(formatStageLine(label, stage));
}

/** Leaves what the summary shows in the test's meta, which vitest sends to the main process with the result. */
export function recordMachine(task: TestContext['task'], vm: StartedMachine, keptArtifactsDir: string | undefined, sharedMachine?: string): void {
  const { summary } = vm;
  task.meta[RECORD_META_KEY] = {
    bootMs: summary.sshReadyAfterMs ?? summary.readyAfterMs,
    exitStatus: summary.exit?.exitStatus,
    endedBy: summary.exit?.endedBy,
    artifactsDir: keptArtifactsDir,
    ...(sharedMachine !== undefined && { sharedMachine }),
  };
}
