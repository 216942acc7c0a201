/**
 * journald's own reports of what its rate limit dropped. When a unit logs more than
 * `RateLimitBurst` messages within `RateLimitIntervalSec`, journald drops the rest, and writes
 * "Suppressed N messages from UNIT" (message ID `JOURNAL_DROPPED`, field `N_DROPPED=N`) when that
 * unit logs again after the interval. The dropped lines are lost in the guest too; these reports
 * are the only trace of them.
 */

/** `SD_MESSAGE_JOURNAL_DROPPED` in systemd's sd-messages.h. */
export const JOURNAL_DROPPED_MESSAGE_ID = 'a596d6fe7bfa4994828e72309e95d61e';

const SUPPRESSED_MESSAGE = /^Suppressed (\d+) messages from (\S+)$/;

/** One of journald's reports: `count` messages of `unit` were dropped. */
export interface SuppressionReport {
  unit: string;
  count: number;
}

/** What journald reported as dropped so far. */
export interface JournalSuppression {
  /** Messages dropped in all, summed over journald's reports. */
  total: number;
  /** The same by unit, e.g. `{ 'app.service': 7790 }`. */
  byUnit: Readonly<Record<string, number>>;
}

/**
 * Reads a report from an entry's fields; undefined for any other entry. Only journald itself can
 * write an entry with `_TRANSPORT=driver` (a trusted field), so a program that logs the same text
 * does not count.
 */
export function readSuppressionReport(fields: Readonly<Record<string, string>>): SuppressionReport | undefined {
  if (fields._TRANSPORT !== 'driver') return undefined;
  const match = SUPPRESSED_MESSAGE.exec(fields.MESSAGE ?? '');
  if (fields.MESSAGE_ID !== JOURNAL_DROPPED_MESSAGE_ID && !match) return undefined;
  // N_DROPPED is the number itself; journald versions before it only have the message.
  const count = Number(fields.N_DROPPED ?? match?.[1]);
  if (!Number.isSafeInteger(count) || count <= 0) return undefined;
  return { unit: match?.[2] ?? 'an unknown unit', count };
}

/** Adds up reports. */
export class SuppressionTally {
  #total = 0;
  readonly #byUnit: Record<string, number> = {};

  add(report: SuppressionReport): void {
    this.#total += report.count;
    this.#byUnit[report.unit] = (this.#byUnit[report.unit] ?? 0) + report.count;
  }

  /** A copy: later reports do not change it. */
  snapshot(): JournalSuppression {
    return { total: this.#total, byUnit: { ...this.#byUnit } };
  }
}

/** One line for a log or a test report. */
export function describeSuppression(report: SuppressionReport): string {
  return `journald in the guest dropped ${report.count} messages from ${report.unit} (its rate limit; they are missing from the journal)`;
}
