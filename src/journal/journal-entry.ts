/**
 * Journal entries as plain objects, and the matching used by queries and waits
 * (what `journalctl -u/-t/-p/-g` and field matches select).
 */

export interface JournalEntry {
  /** `MESSAGE` */
  message: string;
  /** `PRIORITY`: 0 (emerg) … 7 (debug). */
  priority: number | undefined;
  /** `SYSLOG_IDENTIFIER`, e.g. the tag given to `logger -t`. */
  identifier: string | undefined;
  /** The unit the entry is about: `_SYSTEMD_UNIT`, or `UNIT` for the system manager's messages about a unit. */
  unit: string | undefined;
  /** `_PID` */
  pid: number | undefined;
  /** `__REALTIME_TIMESTAMP` as a date. */
  time: Date | undefined;
  /** Every field of the entry. */
  fields: Readonly<Record<string, string>>;
}

export const PRIORITY_NAMES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type PriorityName = (typeof PRIORITY_NAMES)[number];

/** Selects entries; every given criterion must hold. */
export interface JournalMatch {
  /** Entries of this unit, or of the system manager about it (like `journalctl -u`). */
  unit?: string;
  /** `SYSLOG_IDENTIFIER` equals this (like `journalctl -t`). */
  identifier?: string;
  /** Priority at least this important (like `journalctl -p`): `'err'` selects emerg … err. */
  priority?: number | PriorityName;
  /** `MESSAGE` contains this text, or matches this expression (like `journalctl -g`). */
  message?: string | RegExp;
  /** Other fields, each equal to a string or matching an expression, e.g. `{ _TRANSPORT: 'kernel' }`. */
  fields?: Record<string, string | RegExp>;
}

export function toJournalEntry(fields: Record<string, string>): JournalEntry {
  return {
    message: fields.MESSAGE ?? '',
    priority: integerField(fields.PRIORITY),
    identifier: fields.SYSLOG_IDENTIFIER,
    unit: fields._SYSTEMD_UNIT ?? fields.UNIT,
    pid: integerField(fields._PID),
    time: fields.__REALTIME_TIMESTAMP ? new Date(Number(BigInt(fields.__REALTIME_TIMESTAMP) / 1000n)) : undefined,
    fields,
  };
}

export function matchesEntry(entry: JournalEntry, match: JournalMatch): boolean {
  const { fields } = entry;
  if (match.unit !== undefined && ![fields._SYSTEMD_UNIT, fields.UNIT, fields.OBJECT_SYSTEMD_UNIT].includes(match.unit)) return false;
  if (match.identifier !== undefined && fields.SYSLOG_IDENTIFIER !== match.identifier) return false;
  if (match.priority !== undefined && (entry.priority === undefined || entry.priority > priorityLevel(match.priority))) return false;
  if (match.message !== undefined && !matchesText(entry.message, match.message)) return false;
  for (const [name, expected] of Object.entries(match.fields ?? {})) {
    const value = fields[name];
    if (value === undefined || !(typeof expected === 'string' ? value === expected : testPattern(expected, value))) return false;
  }
  return true;
}

/** A readable description of a match, for timeout messages. */
export function describeMatch(match: JournalMatch): string {
  const parts = Object.entries(match).map(([key, value]) =>
    key === 'fields' ? Object.entries(value as object).map(([name, field]) => `${name}=${String(field)}`).join(' ') : `${key}=${String(value)}`,
  );
  return `a journal entry with ${parts.join(', ') || 'any content'}`;
}

function priorityLevel(priority: number | PriorityName): number {
  return typeof priority === 'number' ? priority : PRIORITY_NAMES.indexOf(priority);
}

function matchesText(text: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? text.includes(pattern) : testPattern(pattern, text);
}

/** RegExp.test without the surprise of a global expression remembering where it stopped. */
function testPattern(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
}

function integerField(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}
