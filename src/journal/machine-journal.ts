/**
 * The guest's forwarded journal on the host: received over vsock (or read over SSH without vsock),
 * saved entry by entry to an export file as it arrives, kept in memory for queries and waits, and
 * convertible to a native journal file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { VsockListener, VsockTransport } from '../transport/vsock-transport.js';
import { EventLog, type WaitOptions } from '../util/event-log.js';
import { settlesWithin } from '../util/within.js';
import { JournalExportParser } from './export-parser.js';
import { describeMatch, matchesEntry, toJournalEntry, type JournalEntry, type JournalMatch } from './journal-entry.js';
import { writeNativeJournal, type NativeJournalResult } from './journal-remote.js';
import { readSuppressionReport, SuppressionTally, type JournalSuppression } from './suppressed-messages.js';

export class MachineJournal {
  readonly #log = new EventLog<JournalEntry>();
  readonly #suppression = new SuppressionTally();
  #file: FileHandle | undefined;
  #writes: Promise<unknown> = Promise.resolve();
  #listener: VsockListener | undefined;
  /** Streams being read (a machine without vsock reads its journal over SSH), each settling at its end. */
  readonly #streams = new Set<Promise<void>>();

  constructor(
    /** The export-format file the entries are saved to as they arrive. */
    readonly exportFile: string,
    /** Where {@link writeNativeFile} writes the native journal by default. */
    readonly nativeFile: string,
  ) {}

  /** Entries received so far that match (all of them without a match), oldest first. */
  entries(match: JournalMatch = {}): JournalEntry[] {
    return this.#log.events.filter((entry) => matchesEntry(entry, match));
  }

  /** Resolves with the first matching entry, already received or still to come. */
  waitFor(match: JournalMatch, options?: WaitOptions): Promise<JournalEntry> {
    return this.#log.waitFor((entry) => matchesEntry(entry, match), () => describeMatch(match), options);
  }

  /**
   * Messages the guest's journald dropped because of its rate limit, as journald reported them
   * ("Suppressed N messages from UNIT"): in all and by unit. journald reports a unit's drops when
   * that unit logs again after the rate limit interval (`RateLimitIntervalSec`, 30 s by default),
   * so drops still unreported are not in here. Zero when the limit is lifted (`journalRateLimit: false`).
   */
  get suppressed(): JournalSuppression {
    return this.#suppression.snapshot();
  }

  /** Calls `listener` for every entry from now on; returns a function that unsubscribes. */
  subscribe(listener: (entry: JournalEntry) => void): () => void {
    return this.#log.subscribe(listener);
  }

  /**
   * Writes what was received so far as a native journal file (readable with `journalctl --file`)
   * and returns its path. Needs systemd-journal-remote on the host.
   */
  async writeNativeFile(path = this.nativeFile): Promise<string> {
    const result = await this.convert(path);
    if (!result.written) throw new Error(result.reason);
    return result.path;
  }

  /** @internal Like writeNativeFile, but reports instead of throwing. */
  convert(path = this.nativeFile): Promise<NativeJournalResult> {
    // Queued behind the pending writes, and holding back later ones, so the converter sees whole entries.
    const conversion = this.#writes.then(() => writeNativeJournal(this.exportFile, path));
    this.#writes = conversion.catch(() => undefined);
    return conversion;
  }

  /** @internal Starts receiving on `port`. Every connection is a fresh export stream (journald reconnects after errors). */
  async listen(transport: VsockTransport, port: number): Promise<void> {
    this.#file = await open(this.exportFile, 'a', 0o644);
    this.#listener = await transport.listen(port, (socket) => {
      const parser = this.#parser();
      socket.on('data', (chunk: Buffer) => parser.write(chunk));
      socket.on('error', () => socket.destroy());
    });
  }

  /**
   * @internal Reads one export stream to its end (resolves then, or when it fails); `onEntry` sees
   * each entry's fields once it is stored (e.g. to remember its `__CURSOR`).
   */
  receive(stream: Readable, onEntry: (fields: Record<string, string>) => void = () => undefined): Promise<void> {
    const parser = this.#parser(onEntry);
    const ended = new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => parser.write(chunk));
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
    });
    const tracked = ended.finally(() => this.#streams.delete(tracked));
    this.#streams.add(tracked);
    return tracked;
  }

  /** @internal Opens the export file, before the first {@link receive}. */
  async prepare(): Promise<void> {
    this.#file ??= await open(this.exportFile, 'a', 0o644);
  }

  #parser(onEntry: (fields: Record<string, string>) => void = () => undefined): JournalExportParser {
    return new JournalExportParser(({ fields, bytes }) => {
      const file = this.#file;
      if (file) this.#writes = this.#writes.then(() => file.write(bytes));
      const report = readSuppressionReport(fields);
      if (report) this.#suppression.add(report);
      this.#log.push(toJournalEntry(fields));
      onEntry(fields);
    });
  }

  /**
   * @internal Stops receiving and flushes the export file. Streams still being read get up to
   * `streamGraceMs` to reach their end (what the guest sent before it powered off is still in flight).
   */
  async close(reason: string, streamGraceMs = 3_000): Promise<void> {
    await this.#listener?.close();
    this.#listener = undefined;
    if (this.#streams.size > 0) await settlesWithin(Promise.all(this.#streams), streamGraceMs);
    await this.#writes;
    await this.#file?.close();
    this.#file = undefined;
    this.#log.end(reason);
  }
}
