/**
 * Crashes in the guest, read from the forwarded journal: systemd-coredump logs each core it caught
 * with the catalog message ID SD_MESSAGE_COREDUMP and the crash in `COREDUMP_*` fields.
 */
import type { JournalEntry } from './journal-entry.js';

/** sd-messages.h: SD_MESSAGE_COREDUMP, "Process … dumped core". */
export const COREDUMP_MESSAGE_ID = 'fc2e22bc6ee647b6b90729ab34a250b1';

export interface GuestCoredump {
  /** The crashed program, `COREDUMP_EXE` (or `COREDUMP_COMM` when that is missing). */
  executable: string;
  /** `COREDUMP_PID`, the PID in the guest. */
  pid: number | undefined;
  /** The signal that killed it, e.g. `SIGSEGV` (`COREDUMP_SIGNAL_NAME`, or the number). */
  signal: string | undefined;
  /** The unit it ran in, `COREDUMP_UNIT`. */
  unit: string | undefined;
  /** Where the guest stored the core, `COREDUMP_FILENAME`; undefined when it kept none (Storage=none, too large). */
  guestFile: string | undefined;
  /** When it crashed. */
  time: Date | undefined;
}

/** The coredump a journal entry reports, or undefined for any other entry. */
export function readCoredump(entry: JournalEntry): GuestCoredump | undefined {
  const { fields } = entry;
  if (fields.MESSAGE_ID !== COREDUMP_MESSAGE_ID) return undefined;
  const pid = fields.COREDUMP_PID;
  const signal = fields.COREDUMP_SIGNAL_NAME ?? (fields.COREDUMP_SIGNAL ? `signal ${fields.COREDUMP_SIGNAL}` : undefined);
  return {
    executable: fields.COREDUMP_EXE ?? fields.COREDUMP_COMM ?? 'an unknown program',
    pid: pid !== undefined && /^\d+$/.test(pid) ? Number(pid) : undefined,
    signal,
    unit: fields.COREDUMP_UNIT,
    guestFile: fields.COREDUMP_FILENAME,
    time: entry.time,
  };
}

/** Every coredump the entries report, oldest first. */
export function coredumpsIn(entries: readonly JournalEntry[]): GuestCoredump[] {
  return entries.map(readCoredump).filter((dump): dump is GuestCoredump => dump !== undefined);
}

/** One line: `/usr/bin/sleep (pid 412, SIGABRT) in app.service`. */
export function describeCoredump(dump: GuestCoredump): string {
  const details = [dump.pid !== undefined ? `pid ${dump.pid}` : undefined, dump.signal].filter(Boolean).join(', ');
  return `${dump.executable}${details ? ` (${details})` : ''}${dump.unit ? ` in ${dump.unit}` : ''}`;
}
