/** Journal entries as short lines for failure messages: time, priority, unit/identifier[pid], message. */
import type { JournalEntry } from '../journal/journal-entry.js';
import { formatJournalLine } from '../journal/journal-line.js';

/** Longest message shown for one entry; longer ones are cut with an ellipsis. */
export const MAX_MESSAGE_CHARS = 300;

/** `12:03:04.567 err sshd-session[812] (sshd@0.service): pam_env(…): Unable to open …` (time in UTC). */
export function formatEntry(entry: JournalEntry): string {
  return formatJournalLine(entry, { priority: true, unit: true, maxMessageChars: MAX_MESSAGE_CHARS });
}

/**
 * At most `max` entries, one per indented line; `keep` says which end of the list to show when
 * there are more, and a last line says how many were left out.
 */
export function formatEntryList(entries: readonly JournalEntry[], max: number, keep: 'first' | 'last' = 'first'): string {
  if (entries.length === 0) return '    (none)';
  const shown = entries.length <= max ? entries : keep === 'first' ? entries.slice(0, max) : entries.slice(-max);
  const lines = shown.map((entry) => `    ${formatEntry(entry)}`);
  const left = entries.length - shown.length;
  if (left === 0) return lines.join('\n');
  const note = `    … ${left} ${keep === 'first' ? 'more' : 'earlier'} not shown`;
  return (keep === 'first' ? [...lines, note] : [note, ...lines]).join('\n');
}

/** The last `maxLines` lines of `text`, each at most MAX_MESSAGE_CHARS, indented; a note says how many were cut. */
export function tailLines(text: string, maxLines: number, indent = '    '): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const shown = lines.slice(-maxLines).map((line) => `${indent}${line.length > MAX_MESSAGE_CHARS ? `${line.slice(0, MAX_MESSAGE_CHARS)}…` : line}`);
  return lines.length > maxLines ? [`${indent}… ${lines.length - maxLines} earlier lines not shown`, ...shown].join('\n') : shown.join('\n');
}
