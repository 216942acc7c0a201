/** Journal priorities as the matchers accept them: a syslog name (`'err'`) or a number 0–7. */
import { PRIORITY_NAMES, type PriorityName } from '../journal/journal-entry.js';

/** The numeric level of `priority`; throws naming `option` when it is neither a priority name nor 0–7. */
export function parsePriority(priority: unknown, option: string): number {
  if (typeof priority === 'number' && Number.isInteger(priority) && priority >= 0 && priority <= 7) return priority;
  if (typeof priority === 'string' && (PRIORITY_NAMES as readonly string[]).includes(priority)) return PRIORITY_NAMES.indexOf(priority as PriorityName);
  throw new TypeError(`${option}: ${JSON.stringify(priority)} is not a journal priority. Use one of ${PRIORITY_NAMES.join(', ')} or a number 0–7 (0 is emerg).`);
}

/** `3` → `err`; a number outside 0–7 stays a number. */
export function priorityName(level: number | undefined): string {
  return level === undefined ? '?' : (PRIORITY_NAMES[level] ?? String(level));
}
