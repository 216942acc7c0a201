/**
 * One test's part of a shared machine's journal: the entries that arrived while the test ran,
 * formatted one per line (the failure report lists the last of them, see failure-report.ts).
 */
import type { JournalEntry } from '../../journal/journal-entry.js';

/** How many journal lines the failure report of a test on a shared machine lists at most. */
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

