/**
 * What the journal matchers accept as `expect(x)`: a machine's journal, the machine itself, or an
 * array of entries (e.g. `vm.journal.entries({ unit })`).
 */
import type { JournalEntry, JournalMatch } from '../journal/journal-entry.js';

/** Anything with `entries()`, like a MachineJournal. */
interface EntriesSource {
  entries(match?: JournalMatch): JournalEntry[];
}

/** A machine, or a journal, or entries: what `expect()` may be given for the journal matchers. */
export type JournalSource = EntriesSource | { readonly journal: EntriesSource } | readonly JournalEntry[];

/** The entries of `received`, or undefined when it is none of the accepted kinds. */
export function entriesOf(received: unknown): JournalEntry[] | undefined {
  if (Array.isArray(received)) return received.every(isEntry) ? [...(received as JournalEntry[])] : undefined;
  if (hasEntries(received)) return received.entries();
  if (typeof received === 'object' && received !== null && 'journal' in received && hasEntries(received.journal)) return received.journal.entries();
  return undefined;
}

/** Why `received` was not accepted, for the matcher named `matcher`. */
export function notAJournalMessage(matcher: string, received: unknown): string {
  const what = received === null ? 'null' : Array.isArray(received) ? 'an array of something other than journal entries' : typeof received;
  return `${matcher}() needs a machine, its journal (vm.journal) or an array of journal entries; it got ${what}.`;
}

function hasEntries(value: unknown): value is EntriesSource {
  return typeof value === 'object' && value !== null && typeof (value as Partial<EntriesSource>).entries === 'function';
}

function isEntry(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Partial<JournalEntry>).message === 'string' && typeof (value as Partial<JournalEntry>).fields === 'object';
}
