/**
 * The guest's error-priority journal lines (`journalctl -p err`), as a failure report shows them:
 * the last few, one line each, with who logged them.
 */
import type { JournalEntry } from './journal-entry.js';
import { formatJournalLine } from './journal-line.js';

/** `PRIORITY` of `err`; emerg, alert and crit are lower numbers. */
const ERR = 3;
/** A report line longer than this is cut. */
const MAX_LINE = 300;

/** The last `count` entries at priority err or above, formatted as `identifier[pid]: message`. */
export function lastErrorLines(entries: readonly JournalEntry[], count = 10): string[] {
  return entries
    .filter((entry) => entry.priority !== undefined && entry.priority <= ERR)
    .slice(-count)
    .map(formatErrorLine);
}

/** `identifier[pid]: message`, cut at {@link MAX_LINE} characters. */
export function formatErrorLine(entry: JournalEntry): string {
  const line = formatJournalLine(entry, { time: false });
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line;
}
