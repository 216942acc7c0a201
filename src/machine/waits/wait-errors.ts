/**
 * The errors of the machine's waits, and their text: what was awaited, what the last check saw,
 * and what to do.
 */
import { MachineStateError, VmspawnError, WaitTimeoutError } from '../../errors.js';
import type { JournalEntry } from '../../journal/journal-entry.js';
import type { MachineExit } from '../summary.js';
import type { UnitStatus } from './unit-state.js';

/** A wait on the machine ran out of time. */
export class MachineWaitTimeoutError extends WaitTimeoutError {
  override name = 'MachineWaitTimeoutError';
  constructor(
    /** What was awaited, e.g. `app.service to be active`. */
    readonly waitingFor: string,
    readonly timeoutMs: number,
    /** What the last check saw, e.g. `app.service is activating (start)`; undefined if no check finished. */
    readonly lastObserved: string | undefined,
    /** How many checks finished. */
    readonly checks: number,
  ) {
    super(timeoutText(waitingFor, timeoutMs, lastObserved, checks));
  }
}

/** The machine ended (QEMU exited, or the guest is shutting down) while a wait was pending. */
export class MachineEndedWhileWaitingError extends MachineStateError {
  override name = 'MachineEndedWhileWaitingError';
  constructor(
    readonly waitingFor: string,
    /** Why the machine is gone, e.g. the exit reason of its summary. */
    readonly reason: string,
    readonly lastObserved: string | undefined,
    /** How the machine ended, once QEMU exited. */
    readonly exit?: MachineExit,
    options?: ErrorOptions,
  ) {
    super(`Stopped waiting for ${waitingFor}: ${reason}.${lastSeen(lastObserved)}`, options);
  }
}

/** The unit a wait was for entered the `failed` state. */
export class UnitFailedError extends VmspawnError {
  override name = 'UnitFailedError';
  constructor(
    readonly status: UnitStatus,
    /** What was awaited, e.g. `app.service to be active`. */
    readonly waitingFor: string,
    /** The output of `systemctl status UNIT` in the guest. */
    readonly systemctlStatus: string,
    /** The unit's last journal lines, formatted. */
    readonly journalLines: readonly string[],
  ) {
    super(unitFailedText(status, waitingFor, systemctlStatus, journalLines));
  }
}

export function timeoutText(waitingFor: string, timeoutMs: number, lastObserved: string | undefined, checks: number): string {
  const counted = checks > 0 ? ` (${checks} ${checks === 1 ? 'check' : 'checks'})` : '';
  return `Timed out after ${timeoutMs} ms waiting for ${waitingFor}${counted}.${lastSeen(lastObserved)}\nPass a longer { timeout } if it is only slow.`;
}

function lastSeen(lastObserved: string | undefined): string {
  return lastObserved === undefined ? ' Nothing was observed yet.' : `\nLast observed: ${lastObserved}`;
}

export function unitFailedText(status: UnitStatus, waitingFor: string, systemctlStatus: string, journalLines: readonly string[]): string {
  const result = status.result && status.result !== 'success' ? ` with result '${status.result}'` : '';
  const statusPart = systemctlStatus.trim() ? `systemctl status ${status.unit}:\n${indent(systemctlStatus.trimEnd())}` : `(systemctl status ${status.unit} printed nothing)`;
  const journalPart = journalLines.length > 0 ? `Last journal lines of ${status.unit}:\n${indent(journalLines.join('\n'))}` : `No journal lines of ${status.unit} arrived.`;
  return `${status.unit} failed${result} while waiting for ${waitingFor}.\n${statusPart}\n${journalPart}`;
}


/** The last lines of a command's output for a one-line observation. */
export function outputTail(text: string, maxLines = 3, maxChars = 300): string {
  const lines = text.trim().split('\n').slice(-maxLines).join(' ⏎ ');
  return lines.length > maxChars ? `…${lines.slice(-maxChars)}` : lines;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
