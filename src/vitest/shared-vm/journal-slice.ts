/**
 * One test's part of a shared machine's journal: the entries that arrived while the test ran,
 * formatted one per line, and the failure report that carries the last of them.
 */
import type { JournalEntry } from '../../journal/journal-entry.js';

/** How many journal lines a failure report of a test on a shared machine shows at most. */
export const REPORTED_JOURNAL_LINES = 40;

export interface JournalSlice {
  /** Index of the first entry of the test's slice in the machine's journal. */
  from: number;
  /** Index after its last entry. */
  to: number;
  entries: readonly JournalEntry[];
}

/** The entries from index `from` (taken when the test began) to the end of what arrived. */
export function journalSince(entries: readonly JournalEntry[], from: number): JournalSlice {
  const start = Math.min(Math.max(0, from), entries.length);
  return { from: start, to: entries.length, entries: entries.slice(start) };
}

/** `12:00:01.234 unit-or-identifier[pid]: message`, like `journalctl -o short-precise` without the host name. */
export function formatJournalEntry(entry: JournalEntry): string {
  const time = entry.time ? entry.time.toISOString().slice(11, 23) : '--:--:--.---';
  const source = entry.identifier ?? entry.unit ?? 'unknown';
  return `${time} ${source}${entry.pid !== undefined ? `[${entry.pid}]` : ''}: ${entry.message}`;
}

/** The text added to a failing test's error: the last `cap` lines of its slice, and where the rest is. */
export function describeJournalSlice(slice: JournalSlice, machineName: string, sliceFile: string, cap = REPORTED_JOURNAL_LINES): string {
  const { entries } = slice;
  if (entries.length === 0) return `Guest journal of the shared machine "${machineName}" while this test ran: no entries (${sliceFile})`;
  const shown = entries.slice(-cap);
  const which = shown.length < entries.length ? `last ${shown.length} of ${entries.length} entries` : `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`;
  return [`Guest journal of the shared machine "${machineName}" while this test ran (${which}; all in ${sliceFile}):`, ...shown.map((entry) => `  ${formatJournalEntry(entry)}`)].join('\n');
}

/** A test error as vitest keeps it once the test failed. */
export interface ReportedError {
  message?: string;
  stack?: string;
}

/**
 * Appends `text` to the first of a failed test's errors, in its message and in its stack (which
 * starts with the message, and is what the JSON reporter shows), so every reporter shows it.
 */
export function appendToFirstError(errors: ReportedError[] | undefined, text: string): boolean {
  const error = errors?.[0];
  if (!error) return false;
  const message = error.message ?? '';
  const augmented = `${message}\n\n${text}`;
  if (error.stack?.includes(message) && message) error.stack = error.stack.replace(message, augmented);
  else if (error.stack) error.stack = `${augmented}\n${error.stack}`;
  error.message = augmented;
  return true;
}
