/**
 * `toHaveUnitActive` and `toHaveNoFailedUnits`: assertions that ask the guest's systemctl over SSH
 * and, on failure, show the units' `systemctl status` and their last journal lines.
 */
import type { JournalEntry } from '../journal/journal-entry.js';
import type { ExecOptions, ExecResult } from '../ssh/exec-types.js';
import { formatEntryList, tailLines } from './format-entries.js';
import type { MatcherResult } from './journal-matchers.js';
import { JSON_FAILED_UNITS_COMMAND, parseJsonUnits, parsePlainUnits, PLAIN_FAILED_UNITS_COMMAND, type ListedUnit } from './systemctl-output.js';

/** Failed units described in full on failure; the rest are only named. */
export const FAILED_UNITS_DESCRIBED = 5;
/** Lines of `systemctl status` and of the unit's journal shown per unit. */
export const STATUS_LINES_SHOWN = 12;
export const JOURNAL_LINES_SHOWN = 6;

/** What the unit matchers need of a machine. */
export interface UnitMachine {
  exec(command: string | readonly string[], options?: ExecOptions): Promise<ExecResult>;
  readonly journal?: { entries(match?: { unit?: string }): JournalEntry[] };
}

/** What the failure message shows about one unit. */
export interface UnitReport {
  unit: string;
  /** `systemctl status` output. */
  status: string;
  /** The unit's entries in the forwarded journal. */
  journal: JournalEntry[] | undefined;
}

/** `isNot`: whether the assertion is negated; the unit is described only when the assertion fails. */
export async function toHaveUnitActive(received: unknown, unit: string, isNot = false): Promise<MatcherResult> {
  const vm = unitMachine('toHaveUnitActive', received);
  if (typeof unit !== 'string' || unit === '') throw new TypeError(`toHaveUnitActive(unit): unit must be a unit name like 'ssh.service'; got ${JSON.stringify(unit)}.`);
  const { stdout } = await vm.exec(['systemctl', 'is-active', '--', unit], { reject: false });
  const state = stdout.trim() || '(no answer)';
  const pass = state === 'active';
  const report = pass === isNot ? `\n${formatUnitReport(await describeUnit(vm, unit))}` : '';
  return {
    pass,
    message: () => `expected unit ${unit} ${pass ? 'not ' : ''}to be active, but it is ${state}.${report}`,
  };
}

export async function toHaveNoFailedUnits(received: unknown): Promise<MatcherResult> {
  const vm = unitMachine('toHaveNoFailedUnits', received);
  const failed = await listFailedUnits(vm);
  if (failed.length === 0) return { pass: true, message: () => 'expected failed units, but systemctl lists none.' };
  const reports = await Promise.all(failed.slice(0, FAILED_UNITS_DESCRIBED).map((unit) => describeUnit(vm, unit.unit)));
  return { pass: false, message: () => failedUnitsMessage(failed, reports) };
}

/** The failed units the guest's systemctl lists: JSON when it can, else its plain table. */
export async function listFailedUnits(vm: UnitMachine): Promise<ListedUnit[]> {
  const json = await vm.exec(JSON_FAILED_UNITS_COMMAND, { reject: false });
  const units = json.exitCode === 0 ? parseJsonUnits(json.stdout) : undefined;
  if (units) return units;
  const plain = await vm.exec(PLAIN_FAILED_UNITS_COMMAND, { reject: false });
  if (plain.exitCode !== 0) throw new Error(`"${PLAIN_FAILED_UNITS_COMMAND}" failed in the guest (status ${plain.exitCode}): ${plain.stderr.trim()}`);
  return parsePlainUnits(plain.stdout);
}

/** The message of a failed `toHaveNoFailedUnits`: every failed unit named, the first few described. */
export function failedUnitsMessage(failed: readonly ListedUnit[], reports: readonly UnitReport[]): string {
  const names = failed.map((unit) => `${unit.unit} (${unit.active}/${unit.sub})`).join(', ');
  const more = failed.length > reports.length ? `\n(${failed.length - reports.length} more failed units not described)` : '';
  return `expected no failed units, but ${failed.length} failed: ${names}\n${reports.map(formatUnitReport).join('\n')}${more}`;
}

/** A unit's status and last journal lines, indented. */
export function formatUnitReport(report: UnitReport): string {
  const journal = report.journal === undefined ? '' : `\n  last journal entries of ${report.unit}:\n${formatEntryList(report.journal, JOURNAL_LINES_SHOWN, 'last')}`;
  return `  systemctl status ${report.unit}:\n${tailLines(report.status.trim() || '(no output)', STATUS_LINES_SHOWN)}${journal}`;
}

async function describeUnit(vm: UnitMachine, unit: string): Promise<UnitReport> {
  // --lines=0: the unit's journal lines come from the forwarded journal instead, so they are not shown twice.
  const { stdout, stderr } = await vm.exec(['systemctl', 'status', '--no-pager', '--full', '--lines=0', '--', unit], { reject: false });
  return { unit, status: stdout || stderr, journal: vm.journal?.entries({ unit }) };
}

function unitMachine(matcher: string, received: unknown): UnitMachine {
  if (typeof received === 'object' && received !== null && typeof (received as Partial<UnitMachine>).exec === 'function') return received as UnitMachine;
  throw new TypeError(`${matcher}() needs a started machine (the vm of test.vm, or what Machine.start() returned); it got ${received === null ? 'null' : typeof received}.`);
}
