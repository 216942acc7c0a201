/**
 * The entries to show when no entry matched: the ones closest to what was asked for, so a failure
 * shows what the unit or program did log instead of the whole journal.
 */
import { matchesEntry, type JournalEntry, type JournalMatch } from '../journal/journal-entry.js';

export interface NearestEntries {
  /** What the entries have in common with the match, for the message ("of unit ssh.service"). */
  relation: string;
  /** The last few of them, oldest first. */
  entries: JournalEntry[];
  /** How many there were in all. */
  total: number;
}

/**
 * The last `limit` entries of the same unit or identifier as `match`; without those, the entries whose
 * message matches (in any unit); without those, the last entries of the journal.
 */
export function nearestEntries(entries: readonly JournalEntry[], match: JournalMatch, limit: number): NearestEntries {
  const tiers: Array<[string, JournalMatch | undefined]> = [];
  if (match.unit !== undefined && match.identifier !== undefined) tiers.push([`of unit ${match.unit} or identifier ${match.identifier}`, undefined]);
  if (match.unit !== undefined) tiers.push([`of unit ${match.unit}`, { unit: match.unit }]);
  if (match.identifier !== undefined) tiers.push([`with identifier ${match.identifier}`, { identifier: match.identifier }]);
  if (match.message !== undefined) tiers.push([`with that message (any unit, any priority)`, { message: match.message }]);
  for (const [relation, tier] of tiers) {
    const related = entries.filter((entry) =>
      tier ? matchesEntry(entry, tier) : matchesEntry(entry, { unit: match.unit }) || matchesEntry(entry, { identifier: match.identifier }),
    );
    if (related.length > 0) return { relation, entries: related.slice(-limit), total: related.length };
  }
  return { relation: 'in the journal', entries: entries.slice(-limit), total: entries.length };
}
