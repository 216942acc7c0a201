/**
 * A journal entry as one line of text, like `journalctl -o short-precise` without the host name:
 * `12:03:04.567 sshd-session[812]: message` (times in UTC). Failure messages, wait errors, failure
 * reports and the per-test journal slices all print entries through it.
 */
import { PRIORITY_NAMES, type JournalEntry } from './journal-entry.js';

export interface JournalLineOptions {
  /** Start with the entry's time. @default true */
  time?: boolean;
  /** Show the priority name after the time. @default false */
  priority?: boolean;
  /** Name the unit after the identifier, when it differs. @default false */
  unit?: boolean;
  /** Cut a longer message with an ellipsis. @default no limit */
  maxMessageChars?: number;
}

export function formatJournalLine(entry: JournalEntry, options: JournalLineOptions = {}): string {
  const { time = true, priority = false, unit = false, maxMessageChars } = options;
  const kernel = entry.fields._TRANSPORT === 'kernel';
  const who = entry.identifier ?? (kernel ? 'kernel' : (entry.unit ?? entry.fields._COMM ?? 'unknown'));
  const pid = entry.pid === undefined || kernel ? '' : `[${entry.pid}]`;
  const about = unit && entry.unit && entry.unit !== entry.identifier && entry.unit !== who ? ` (${entry.unit})` : '';
  const cut = maxMessageChars !== undefined && entry.message.length > maxMessageChars;
  const message = (cut ? `${entry.message.slice(0, maxMessageChars)}…` : entry.message).replaceAll('\n', '⏎');
  const prefix = [
    time ? (entry.time ? entry.time.toISOString().slice(11, 23) : '--:--:--.---') : undefined,
    priority ? priorityLabel(entry.priority) : undefined,
  ].filter((part) => part !== undefined);
  return `${[...prefix, `${who}${pid}${about}:`].join(' ')} ${message}`;
}

function priorityLabel(level: number | undefined): string {
  return level === undefined ? '?' : (PRIORITY_NAMES[level] ?? String(level));
}
