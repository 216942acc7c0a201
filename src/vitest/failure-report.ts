/**
 * The text a failed VM test adds to its report: where the machine was (state, uptime, the last
 * target it reached), the units that failed, the error-priority journal lines the test's time
 * produced, crashes in the guest with their saved cores, and the artifacts path. Pure.
 */
import { describeCoredump } from '../journal/coredumps.js';
import type { SavedCoredump } from '../machine/save-coredumps.js';

export interface FailureEvidence {
  /** The machine's state when the test failed (`running`, `stopping`, `exited`). */
  state: string;
  /** Milliseconds since the machine started. */
  upForMs: number;
  /** Milliseconds from QEMU's start to `READY=1`. */
  readyAfterMs: number | undefined;
  /** The last unit the guest reported active (`X_SYSTEMD_UNIT_ACTIVE`), and its last `STATUS=`. */
  lastActiveUnit: string | undefined;
  status: string | undefined;
  /** How the machine ended, when it did. */
  exitReason: string | undefined;
  failedUnits: readonly string[];
  /** Error-priority lines logged since the test's machine was ready (before `journalTail`, when there is one), the last ones. */
  journalErrors: readonly string[];
  /** How many more such lines there were. */
  journalErrorsLeftOut: number;
  coredumps: readonly SavedCoredump[];
  /** The test's artifacts directory as shown to the user; undefined when it is not kept. */
  artifactsDir: string | undefined;
  /** A test on a shared machine: the last lines of its own part of the journal, every priority, and the file with all of it. */
  journalTail?: JournalTail;
}

export interface JournalTail {
  lines: readonly string[];
  /** How many entries the test's part has in all. */
  total: number;
  /** The file that holds them all, as shown to the user. */
  file: string;
}

/** The name of the error a failed VM test gets next to its own. */
export const FAILURE_REPORT_NAME = 'VmDiagnosis';

export function formatFailureReport(evidence: FailureEvidence): string {
  const lines = [`The test's machine was ${describeWhere(evidence)}.`];
  if (evidence.failedUnits.length > 0) lines.push(`Failed units: ${evidence.failedUnits.join(', ')}`);
  if (evidence.coredumps.length > 0) {
    lines.push('Crashes in the guest (systemd-coredump):');
    for (const dump of evidence.coredumps) {
      const copy = dump.savedAs ? `core saved as ${dump.savedAs}` : `core not saved: ${dump.notSaved}`;
      lines.push(`    ${describeCoredump(dump)}; ${copy}`);
    }
  }
  const tail = evidence.journalTail;
  if (evidence.journalErrors.length > 0) {
    const more = evidence.journalErrorsLeftOut > 0 ? ` (the last ${evidence.journalErrors.length}; ${evidence.journalErrorsLeftOut} earlier left out)` : '';
    lines.push(`Errors in the guest's journal during the test${tail ? ', before the lines below' : ''}${more}:`);
    for (const line of evidence.journalErrors) lines.push(`    ${line}`);
  } else if (!tail) {
    lines.push("No errors in the guest's journal during the test.");
  }
  if (tail) lines.push(...describeTail(tail));
  if (evidence.artifactsDir) lines.push(`Artifacts: ${evidence.artifactsDir} (journal: journalctl --file ${evidence.artifactsDir}/journal.journal)`);
  return lines.join('\n');
}

function describeTail(tail: JournalTail): string[] {
  if (tail.total === 0) return [`The guest's journal during the test: no entries (${tail.file})`];
  const which = tail.lines.length < tail.total ? `the last ${tail.lines.length} of ${tail.total} entries` : `${tail.total} ${tail.total === 1 ? 'entry' : 'entries'}`;
  return [`The guest's journal during the test (${which}; all in ${tail.file}):`, ...tail.lines.map((line) => `    ${line}`)];
}

function describeWhere(evidence: FailureEvidence): string {
  const up = `up ${seconds(evidence.upForMs)}`;
  const ready = evidence.readyAfterMs !== undefined ? `, ready after ${seconds(evidence.readyAfterMs)}` : '';
  const unit = evidence.lastActiveUnit ? `, last reached ${evidence.lastActiveUnit}` : '';
  const status = evidence.status ? `, status "${evidence.status}"` : '';
  const ended = evidence.exitReason ? `; it ended: ${evidence.exitReason}` : '';
  return `${evidence.state} (${up}${ready}${unit}${status})${ended}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
