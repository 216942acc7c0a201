/**
 * Checks the match objects the journal matchers receive, so that a typo (`{ unti: 'x' }`, `priority:
 * 'error'`) fails with what was wrong instead of silently matching every entry.
 */
import type { JournalMatch } from '../journal/journal-entry.js';
import { parsePriority } from './priority.js';

/** The options of `toHaveNoEntries`: a match (usually just a priority) and the entries to let pass. */
export interface NoEntriesOptions extends JournalMatch {
  /** Entries matching any of these are not counted, e.g. `[{ identifier: 'kernel', message: /MMCONFIG/ }]`. @default [] */
  allow?: readonly JournalMatch[];
}

const MATCH_KEYS = ['unit', 'identifier', 'priority', 'message', 'fields'] as const;

/** `match` as given, checked; throws a TypeError naming `option` and the accepted keys. */
export function checkMatch(match: unknown, option: string): JournalMatch {
  if (typeof match !== 'object' || match === null || Array.isArray(match)) {
    throw new TypeError(`${option} must be an object like { unit, identifier, priority, message, fields }; got ${match === null ? 'null' : typeof match}.`);
  }
  const record = match as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(MATCH_KEYS as readonly string[]).includes(key)) throw new TypeError(`${option}.${key} is not a match field; use ${MATCH_KEYS.join(', ')}.`);
  }
  for (const key of ['unit', 'identifier'] as const) {
    if (record[key] !== undefined && typeof record[key] !== 'string') throw new TypeError(`${option}.${key} must be a string; got ${typeof record[key]}.`);
  }
  if (record.message !== undefined && typeof record.message !== 'string' && !(record.message instanceof RegExp)) {
    throw new TypeError(`${option}.message must be a string (contained in the message) or a RegExp; got ${typeof record.message}.`);
  }
  if (record.priority !== undefined) parsePriority(record.priority, `${option}.priority`);
  if (record.fields !== undefined) {
    if (typeof record.fields !== 'object' || record.fields === null) throw new TypeError(`${option}.fields must be an object of field names to strings or RegExps.`);
    for (const [name, value] of Object.entries(record.fields)) {
      if (typeof value !== 'string' && !(value instanceof RegExp)) throw new TypeError(`${option}.fields.${name} must be a string or a RegExp; got ${typeof value}.`);
    }
  }
  return record as JournalMatch;
}

/** The options of `toHaveNoEntries`, checked: the match without `allow`, and the allow-list. */
export function checkNoEntriesOptions(options: unknown, option: string): { match: JournalMatch; allow: JournalMatch[] } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${option} must be an object like { priority: 'err', allow: [{ identifier, message }] }; got ${options === null ? 'null' : typeof options}.`);
  }
  const { allow = [], ...match } = options as Record<string, unknown>;
  if (!Array.isArray(allow)) throw new TypeError(`${option}.allow must be an array of matches like { identifier, message }; got ${typeof allow}.`);
  return { match: checkMatch(match, option), allow: allow.map((entry, index) => checkMatch(entry, `${option}.allow[${index}]`)) };
}
