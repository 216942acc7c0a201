/**
 * What happens around a VM test's end besides the shutdown: crashes are annotated while the test
 * runs; a failed test gets a report of its machine (failure-report.ts) next to its own error, and,
 * in debug mode, its machine is kept for a person to look into before the shutdown goes on.
 */
import type { TestContext } from 'vitest';
import type { StartedMachine } from '../machine/started-machine.js';
import { describeDebugShell, prepareDebugShell, waitForDebugEnd } from './debug-shell.js';
import { annotateCoredumps, attachFailureReport, TestJournalMark } from './failure-evidence.js';
import { FAILURE_REPORT_NAME, formatFailureReport } from './failure-report.js';

export interface FailedTestOptions {
  /** Keep a failed test's machine for a shell (debug mode). */
  debug: boolean;
  /** Whether the artifacts are kept when the test fails (cores are copied only then). */
  keepsArtifactsOnFailure: boolean;
  /** The artifacts directory as the report shows it. */
  shownArtifactsDir: string;
  /** A test on a shared machine: list the last `lines` entries of its time whole, and name the file with all of them. */
  journalTail?: { lines: number; file: string };
}

/** Starts watching a test's machine; call the returned function in the test's cleanup, before the machine stops. */
export function watchTestMachine(vm: StartedMachine, context: Pick<TestContext, 'task' | 'annotate'>, options: FailedTestOptions): () => Promise<void> {
  const mark = new TestJournalMark(vm);
  const stopAnnotating = annotateCoredumps(vm, context);
  return async () => {
    stopAnnotating();
    if (context.task.result?.state !== 'fail') return;
    try {
      const evidence = await mark.gather(options.keepsArtifactsOnFailure ? options.shownArtifactsDir : undefined, options.keepsArtifactsOnFailure, options.journalTail);
      attachFailureReport(context.task, FAILURE_REPORT_NAME, formatFailureReport(evidence));
    } catch (error) {
      attachFailureReport(context.task, FAILURE_REPORT_NAME, `The report on the test's machine could not be made: ${(error as Error).message}`);
    }
    if (options.debug && vm.state === 'running' && vm.sshAccess) {
      const shell = await prepareDebugShell(vm);
      process.stderr.write(describeDebugShell(context.task.name, vm, shell));
      const ended = await waitForDebugEnd(vm, shell);
      process.stderr.write(`vitest-vmspawn debug: "${context.task.name}" goes on (${ended === 'flag-deleted' ? 'the flag file was deleted' : 'the machine exited'}).\n`);
    }
  };
}
