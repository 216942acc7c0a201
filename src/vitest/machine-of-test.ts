/**
 * What every VM test gets around its machine, whether the machine is its own (`test.vm`,
 * vm-fixture.ts) or shared by its file or describe (`useVm`, shared-vm/): the run's announcements
 * left out of the worker's log, boot progress lines, crash and journald-suppression annotations, the
 * failure report, debug mode, the kept artifacts in the reports and the end-of-run summary's record.
 */
import { relative } from 'node:path';
import type { TestContext } from 'vitest';
import { describeSuppression, readSuppressionReport } from '../journal/suppressed-messages.js';
import type { StartOptions } from '../machine/machine.js';
import { markAnnounced } from '../machine/machine-log.js';
import type { StartedMachine } from '../machine/started-machine.js';
import { recordTestOfMachine } from '../registry/registry.js';
import { reportKeptArtifacts } from './artifacts-report.js';
import { printBootStages, recordMachine } from './boot-progress-lines.js';
import { debugModeOn } from './debug-shell.js';
import { watchTestMachine } from './failed-test.js';
import { PROVIDED_RUN_KEY } from './run-announcements.js';
import { providedConfig, safeInject } from './provided.js';

type ReportingContext = Pick<TestContext, 'task' | 'annotate'>;

/** The run's host decisions were printed once by the global setup: this worker's machines leave them out. */
export function leaveOutRunAnnouncements(): void {
  markAnnounced(safeInject(PROVIDED_RUN_KEY)?.lines ?? []);
}

/** `start()` options: aborted by `signal`, its stages printed under `label` unless `bootProgress` is off. */
export function bootStartOptions(label: string, signal: AbortSignal | undefined): StartOptions {
  return { signal, onBootStage: providedConfig().bootProgress ? printBootStages(label) : undefined };
}

/** A path as the reports show it: relative to the working directory. */
export function shownPath(path: string): string {
  return relative(process.cwd(), path) || path;
}

export interface MachineOfTestOptions {
  /** The machine's artifacts directory (absolute). */
  artifactsDir: string;
  /** The machine's resolved `journalRateLimit` (the remedy a suppression report names depends on it). */
  journalRateLimit: boolean;
  /** A test on a shared machine: list the last `lines` journal entries of its time whole, and name the file with all of them. */
  journalTail?: { lines: number; file: string };
}

/**
 * Starts watching the machine for the test (crashes and journald suppressions become annotations);
 * call the returned function in the test's cleanup while the machine still runs: a failed test then
 * gets its report, and in debug mode the machine is kept for a shell until the person is done.
 */
export function watchMachineOfTest(vm: StartedMachine, context: ReportingContext, options: MachineOfTestOptions): () => Promise<void> {
  const config = providedConfig();
  void recordTestOfMachine(vm, [context.task.file?.name, context.task.name].filter(Boolean).join(' > '));
  const stopReporting = reportSuppressedMessages(vm, context, options.journalRateLimit);
  const beforeStop = watchTestMachine(vm, context, {
    debug: debugModeOn(config.debug),
    keepsArtifactsOnFailure: config.preserveArtifacts !== 'never',
    shownArtifactsDir: shownPath(options.artifactsDir),
    ...(options.journalTail && { journalTail: options.journalTail }),
  });
  return async () => {
    stopReporting();
    await beforeStop();
  };
}

/**
 * Once the test's result is known: the summary's record of its machine, and, when the artifacts
 * stay (`keep`), their path in the reports. `sharedMachine` names a shared machine the test used.
 */
export async function reportMachineOfTest(context: ReportingContext, vm: StartedMachine, artifactsDir: string, keep: boolean, sharedMachine?: string): Promise<void> {
  recordMachine(context.task, vm, keep ? shownPath(artifactsDir) : undefined, sharedMachine);
  if (keep) await reportKeptArtifacts(context, artifactsDir, vm.summary);
}

/** A failed boot keeps its artifacts (the BootError names them); the reports say where, too. */
export async function reportFailedBoot(context: ReportingContext, artifactsDir: string): Promise<void> {
  if (providedConfig().preserveArtifacts !== 'never') await reportKeptArtifacts(context, artifactsDir).catch(() => undefined);
}

/**
 * Each of journald's "Suppressed N messages" reports becomes a line of the test's report (shown with
 * its failure), as it arrives: vitest takes annotations only while the test runs.
 */
function reportSuppressedMessages(vm: StartedMachine, context: ReportingContext, limitKept: boolean): () => void {
  const remedy = limitKept
    ? 'journalRateLimit: false lifts the limit'
    : "the unit sets its own LogRateLimitIntervalSec=/LogRateLimitBurst=, which journald's lifted limit does not override";
  return vm.journal.subscribe((entry) => {
    const report = readSuppressionReport(entry.fields);
    if (!report || context.task.result?.state !== 'run') return;
    try {
      void context.annotate(`${describeSuppression(report)}; ${remedy}`, 'vitest-vmspawn').catch(() => undefined);
    } catch {
      // The test ended between the check and the call.
    }
  });
}
