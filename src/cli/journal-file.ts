/**
 * Reads a machine's journal.export (written entry by entry while the machine runs): all of it, or
 * following it as it grows until `stop` says so.
 */
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { JournalExportParser } from '../journal/export-parser.js';
import { toJournalEntry, type JournalEntry } from '../journal/journal-entry.js';

const FOLLOW_POLL_MS = 200;

export class JournalFileReader {
  #offset = 0;
  readonly #parser: JournalExportParser;
  #received: JournalEntry[] = [];

  constructor(private readonly path: string) {
    this.#parser = new JournalExportParser((entry) => this.#received.push(toJournalEntry(entry.fields)));
  }

  /** The entries written since the last call. */
  async readNew(): Promise<JournalEntry[]> {
    const file = await open(this.path, 'r').catch(() => undefined);
    if (file) {
      try {
        const { size } = await file.stat();
        while (this.#offset < size) {
          const buffer = Buffer.alloc(Math.min(size - this.#offset, 1 << 20));
          const { bytesRead } = await file.read(buffer, 0, buffer.length, this.#offset);
          if (bytesRead === 0) break;
          this.#offset += bytesRead;
          this.#parser.write(buffer.subarray(0, bytesRead));
        }
      } finally {
        await file.close();
      }
    }
    const received = this.#received;
    this.#received = [];
    return received;
  }

  /** Hands over new entries as they are written, until `ended()` is true (then once more) or `signal` aborts. */
  async follow(onEntries: (entries: JournalEntry[]) => void, ended: () => boolean, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const last = ended();
      const entries = await this.readNew();
      if (entries.length > 0) onEntries(entries);
      if (last) return;
      await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }
}
