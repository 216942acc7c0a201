/**
 * `toContainEntry` and `toHaveNoEntries`: assertions over a machine's forwarded journal whose
 * failure messages show a few relevant entries, never the whole journal.
 */
import { describeMatch, matchesEntry, type JournalEntry, type JournalMatch } from '../journal/journal-entry.js';
import { formatEntryList } from './format-entries.js';
import { entriesOf, notAJournalMessage } from './journal-source.js';
import { checkMatch, checkNoEntriesOptions } from './match-options.js';
import { nearestEntries } from './nearest-entries.js';

/** Related entries shown when nothing matched. */
export const NEAREST_SHOWN = 8;
/** Matching entries shown by `.not.toContainEntry` and offending ones by `toHaveNoEntries`. */
export const FOUND_SHOWN = 10;

export interface MatcherResult {
  pass: boolean;
  message: () => string;
}

export function toContainEntry(received: unknown, match: JournalMatch): MatcherResult {
  const entries = journalEntries('toContainEntry', received);
  checkMatch(match, 'toContainEntry(match)');
  const found = entries.filter((entry) => matchesEntry(entry, match));
  const wanted = describeMatch(match);
  if (found.length > 0) {
    return {
      pass: true,
      message: () => `expected no ${wanted.replace(/^a /, '')} among ${entries.length} entries, but found ${found.length}:\n${formatEntryList(found, FOUND_SHOWN)}`,
    };
  }
  return { pass: false, message: () => `expected ${wanted} among ${entries.length} entries, but none matched.\n${nearestText(entries, match)}` };
}

export function toHaveNoEntries(received: unknown, options: unknown): MatcherResult {
  const entries = journalEntries('toHaveNoEntries', received);
  const { match, allow } = checkNoEntriesOptions(options, 'toHaveNoEntries(options)');
  const { offending, allowedCount } = unallowedEntries(entries, match, allow);
  const allowedNote = allowedCount > 0 ? ` (${allowedCount} more were allowed)` : '';
  const what = describeMatch(match).replace(/^a journal entry/, 'journal entries');
  if (offending.length > 0) {
    return {
      pass: false,
      message: () =>
        `expected no ${what}, but found ${offending.length}${allowedNote}:\n${formatEntryList(offending, FOUND_SHOWN)}\n` +
        'Fix their cause, or pass the expected ones in allow: [{ identifier, message: /…/ }].',
    };
  }
  return { pass: true, message: () => `expected ${what}, but found none among ${entries.length} entries${allowedNote}.` };
}

/** The entries matching `match` that no entry of `allow` matches, and how many matching ones were allowed. */
export function unallowedEntries(entries: readonly JournalEntry[], match: JournalMatch, allow: readonly JournalMatch[]): { offending: JournalEntry[]; allowedCount: number } {
  const selected = entries.filter((entry) => matchesEntry(entry, match));
  const offending = selected.filter((entry) => !allow.some((allowed) => matchesEntry(entry, allowed)));
  return { offending, allowedCount: selected.length - offending.length };
}

function journalEntries(matcher: string, received: unknown): JournalEntry[] {
  const entries = entriesOf(received);
  if (!entries) throw new TypeError(notAJournalMessage(matcher, received));
  return entries;
}

function nearestText(entries: readonly JournalEntry[], match: JournalMatch): string {
  const nearest = nearestEntries(entries, match, NEAREST_SHOWN);
  if (nearest.total === 0) return 'The journal is empty.';
  const which = nearest.total > nearest.entries.length ? `the last ${nearest.entries.length} of ${nearest.total}` : `all ${nearest.total}`;
  return `Entries ${nearest.relation} (${which}):\n${formatEntryList(nearest.entries, NEAREST_SHOWN)}`;
}
