/**
 * The verdict of a check, from what it gathered: one result per check, the failed units with their
 * last journal lines, the error lines no `--allow` pattern let pass, the boot timings and the power-off.
 * Pure: the gathering is elsewhere.
 */
import { EXIT_FAILURE, EXIT_OK } from '../cli/command.js';
import { formatEntry } from '../matchers/format-entries.js';
import { unallowedEntries } from '../matchers/journal-matchers.js';
import { matchesEntry, type JournalEntry } from '../journal/journal-entry.js';
import type { MachineExit } from '../machine/summary.js';
import type { CheckFacts } from './check-facts.js';
import { CHECK_REPORT_SCHEMA_VERSION, type CheckReport, type CheckResult, type ReportedJournalLine } from './check-report.js';

/** Journal lines kept per failed unit. */
export const UNIT_JOURNAL_LINES = 10;
/** Disallowed error lines named in the check's details (all of them are in `errorLines`). */
export const ERROR_LINES_DETAILED = 10;

export function buildCheckReport(facts: CheckFacts): CheckReport {
  const { offending, allowedCount } = unallowedEntries(facts.journal, { priority: 'err' }, facts.allow.matches);
  const failedUnits = reportedFailedUnits(facts);
  const powerOff = facts.powerOff ? { ...describePowerOff(facts.powerOff.exit, facts.powerOff.notifyAvailable), durationMs: round(facts.powerOff.durationMs) } : null;
  const checks: CheckResult[] = [
    bootCheck(facts),
    systemStateCheck(facts),
    failedUnitsCheck(facts, failedUnits),
    errorLinesCheck(facts, offending, allowedCount),
    powerOffCheck(facts, powerOff),
  ];
  return {
    schemaVersion: CHECK_REPORT_SCHEMA_VERSION,
    verdict: checks.every((check) => check.status === 'passed') ? 'healthy' : 'degraded',
    machine: facts.machine,
    startedAt: facts.startedAt.toISOString(),
    durationMs: round(facts.durationMs),
    artifactsDir: facts.artifactsDir,
    checks,
    boot: {
      ready: facts.bootFailure === undefined,
      error: facts.bootFailure?.error ?? null,
      stages: facts.stages.map((stage) => ({ ...stage, afterMs: round(stage.afterMs) })),
      systemdAnalyze: analyzeOf(facts),
    },
    systemState: facts.systemState && 'state' in facts.systemState ? facts.systemState.state : null,
    failedUnits,
    errorLines: { disallowed: offending.map(reportedLine), allowedCount, allow: facts.allow.patterns },
    powerOff,
  };
}

/** The exit code of `check` for a report: 0 healthy, 1 degraded (the CLI's EXIT_OK and EXIT_FAILURE). */
export function exitCodeOf(report: CheckReport): number {
  return report.verdict === 'healthy' ? EXIT_OK : EXIT_FAILURE;
}

/**
 * Whether a power-off was clean: asked for by the check, the guest's system manager finished its
 * shutdown (EXIT_STATUS=0; without vsock no EXIT_STATUS can arrive, so QEMU's own clean exit counts)
 * and QEMU exited by itself with code 0, not quit after a timeout.
 */
export function describePowerOff(exit: MachineExit, notifyAvailable: boolean): Omit<NonNullable<CheckReport['powerOff']>, 'durationMs'> {
  const quit = /QEMU was quit/.test(exit.reason);
  const statusOk = notifyAvailable ? exit.exitStatus === 0 : exit.exitStatus === undefined || exit.exitStatus === 0;
  const clean = exit.endedBy === 'shutdown' && exit.qemuSignal === undefined && exit.qemuExitCode === 0 && statusOk && !quit;
  return {
    clean,
    endedBy: exit.endedBy,
    exitStatus: exit.exitStatus ?? null,
    qemuExitCode: exit.qemuExitCode ?? null,
    qemuSignal: exit.qemuSignal ?? null,
    reason: exit.reason,
  };
}

function bootCheck(facts: CheckFacts): CheckResult {
  if (facts.bootFailure) {
    const { error, failedUnits, journalErrors } = facts.bootFailure;
    const details = [...error.split('\n'), ...(failedUnits.length > 0 ? [`failed units: ${failedUnits.join(', ')}`] : []), ...journalErrors.map((line) => `error: ${line}`)];
    return { name: 'boot', status: 'failed', summary: `the boot failed: ${error.split('\n')[0]}`, details };
  }
  const ready = facts.stages.find((stage) => stage.stage === 'ready') ?? facts.stages.at(-1);
  return { name: 'boot', status: 'passed', summary: ready ? `ready after ${seconds(ready.afterMs)}` : 'ready', details: [] };
}

function systemStateCheck(facts: CheckFacts): CheckResult {
  const state = facts.systemState;
  if (!state) return skipped('system-state', facts);
  if ('error' in state) return { name: 'system-state', status: 'failed', summary: 'systemctl is-system-running could not be asked', details: [state.error] };
  const passed = state.state === 'running';
  return { name: 'system-state', status: passed ? 'passed' : 'failed', summary: `systemctl is-system-running: ${state.state}`, details: [] };
}

function failedUnitsCheck(facts: CheckFacts, units: CheckReport['failedUnits']): CheckResult {
  if (facts.failedUnits && 'error' in facts.failedUnits) {
    return { name: 'failed-units', status: 'failed', summary: 'systemctl could not list the failed units', details: [facts.failedUnits.error] };
  }
  if (!facts.failedUnits && !facts.bootFailure?.failedUnits.length) return skipped('failed-units', facts);
  if (units.length === 0) return { name: 'failed-units', status: 'passed', summary: 'no failed units', details: [] };
  const details = units.flatMap((unit) => [`${unit.unit}${unit.active ? ` (${unit.active}/${unit.sub})` : ''}:`, ...unit.lastJournalLines.map((line) => `  ${line}`)]);
  return { name: 'failed-units', status: 'failed', summary: `${count(units.length, 'failed unit')}: ${units.map((unit) => unit.unit).join(', ')}`, details };
}

function errorLinesCheck(facts: CheckFacts, offending: readonly JournalEntry[], allowedCount: number): CheckResult {
  if (facts.bootFailure && facts.journal.length === 0) return skipped('error-lines', facts);
  const allowed = allowedCount > 0 ? ` (${allowedCount} allowed)` : '';
  if (offending.length === 0) return { name: 'error-lines', status: 'passed', summary: `no error lines${allowed}`, details: [] };
  const shown = offending.slice(0, ERROR_LINES_DETAILED).map(formatEntry);
  const more = offending.length > shown.length ? [`… ${offending.length - shown.length} more in check-report.json`] : [];
  return { name: 'error-lines', status: 'failed', summary: `${count(offending.length, 'error line')} at priority err or above${allowed}`, details: [...shown, ...more] };
}

function powerOffCheck(facts: CheckFacts, powerOff: CheckReport['powerOff']): CheckResult {
  if (!powerOff) return skipped('power-off', facts);
  const status = powerOff.exitStatus === null ? '' : `, EXIT_STATUS=${powerOff.exitStatus}`;
  const summary = `${powerOff.clean ? 'clean' : 'not clean'}: ${powerOff.reason}${powerOff.reason.includes('EXIT_STATUS') ? '' : status} in ${seconds(powerOff.durationMs)}`;
  return { name: 'power-off', status: powerOff.clean ? 'passed' : 'failed', summary, details: [] };
}

function skipped(name: CheckResult['name'], facts: CheckFacts): CheckResult {
  return { name, status: 'skipped', summary: facts.bootFailure ? 'not run: the boot failed' : 'not run', details: [] };
}

/** systemctl's failed units with their last journal lines; after a failed boot, the units the boot error named. */
function reportedFailedUnits(facts: CheckFacts): CheckReport['failedUnits'] {
  const listed = Array.isArray(facts.failedUnits) ? facts.failedUnits : (facts.bootFailure?.failedUnits ?? []).map((unit) => ({ unit, active: '', sub: '', description: '' }));
  return listed.map(({ unit, active, sub, description }) => ({
    unit,
    active,
    sub,
    description,
    lastJournalLines: facts.journal
      .filter((entry) => matchesEntry(entry, { unit }))
      .slice(-UNIT_JOURNAL_LINES)
      .map(formatEntry),
  }));
}

function analyzeOf(facts: CheckFacts): CheckReport['boot']['systemdAnalyze'] {
  const analyze = facts.systemdAnalyze;
  if (!analyze) return { available: false, reason: facts.bootFailure ? 'the boot failed' : 'not asked' };
  if ('error' in analyze) return { available: false, reason: analyze.error };
  return { available: true, stagesMs: analyze.stages, totalMs: analyze.totalMs, target: analyze.target ?? null };
}

function reportedLine(entry: JournalEntry): ReportedJournalLine {
  return {
    time: entry.time?.toISOString() ?? null,
    priority: entry.priority ?? null,
    identifier: entry.identifier ?? null,
    unit: entry.unit ?? null,
    message: entry.message,
    line: formatEntry(entry),
  };
}

/** `12.3 s` */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function round(ms: number): number {
  return Math.round(ms);
}
