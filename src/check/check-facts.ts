/**
 * What a check gathered from one boot, before any verdict: the input of {@link buildCheckReport}.
 * Gathering (src/check/run-check.ts) fills it; everything that judges it is pure.
 */
import type { JournalEntry, JournalMatch } from '../journal/journal-entry.js';
import type { BootStage } from '../machine/boot-progress.js';
import type { MachineExit } from '../machine/summary.js';
import type { ListedUnit } from '../matchers/systemctl-output.js';
import type { CheckReport } from './check-report.js';
import type { SystemdAnalyzeTime } from './systemd-analyze.js';

export interface CheckFacts {
  machine: CheckReport['machine'];
  startedAt: Date;
  durationMs: number;
  artifactsDir: string;
  /** The `--allow` patterns as given, and the journal matches made of them. */
  allow: { patterns: string[]; matches: JournalMatch[] };
  stages: BootStage[];
  /** Set when start() failed: its message, and what the boot error knew of failed units and error lines. */
  bootFailure?: { error: string; failedUnits: readonly string[]; journalErrors: readonly string[] };
  /** `systemctl is-system-running`, or why it could not be asked. */
  systemState?: { state: string } | { error: string };
  /** `systemd-analyze time`, or why it gave nothing. */
  systemdAnalyze?: SystemdAnalyzeTime | { error: string };
  /** The failed units systemctl listed, or why it could not be asked. */
  failedUnits?: ListedUnit[] | { error: string };
  /** The forwarded journal at the time of the checks. */
  journal: readonly JournalEntry[];
  /** How the power-off ended and how long it took. */
  powerOff?: { exit: MachineExit; durationMs: number; notifyAvailable: boolean };
}
