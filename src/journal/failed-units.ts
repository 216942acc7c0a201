/**
 * The units the guest's system manager reported as failed, read from the forwarded journal: PID 1 logs
 * each failure with the catalog message ID SD_MESSAGE_UNIT_FAILED and the unit in `UNIT=`.
 */
import type { JournalEntry } from './journal-entry.js';

/** sd-messages.h: SD_MESSAGE_UNIT_FAILED, "Unit … entered failed state". */
export const UNIT_FAILED_MESSAGE_ID = 'be02cf6855d2428ba40df7e9d022f03d';

/** The failed units, each once, in the order they failed. */
export function failedUnits(entries: readonly JournalEntry[]): string[] {
  const units = entries.filter((entry) => entry.fields.MESSAGE_ID === UNIT_FAILED_MESSAGE_ID).map((entry) => entry.fields.UNIT);
  return [...new Set(units.filter((unit): unit is string => unit !== undefined))];
}
