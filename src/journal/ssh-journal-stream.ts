/**
 * The journal of a machine without vsock: read over SSH on a connection of its own (the exec
 * session's may be closed at shutdown) with `journalctl --output=export --follow` from the start
 * of the boot, into the same MachineJournal that vsock forwarding fills, so artifacts, waits and
 * matchers see no difference. A stream that breaks while the machine runs is resumed after the
 * last entry's cursor, so nothing is read twice or skipped. When the guest powers off, systemd
 * stops sshd and the stream ends: the entries of the shutdown after that point are not read.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SshConnection } from '../ssh/ssh-connection.js';
import { toShellCommand } from '../ssh/shell-quote.js';
import type { MachineJournal } from './machine-journal.js';

const RESUME_DELAY_MS = 500;

/** The command that prints the boot's journal, all of it, then follows it; after `cursor` when given. */
export function journalStreamCommand(cursor: string | undefined): string {
  const from = cursor === undefined ? ['--boot'] : ['--boot', `--after-cursor=${cursor}`];
  return toShellCommand(['journalctl', '--output=export', '--follow', '--lines=all', '--no-pager', ...from]);
}

export interface SshJournalStreamOptions {
  journal: MachineJournal;
  /** Opens a fresh authenticated connection to the guest. */
  connect: () => Promise<SshConnection>;
  /** Whether the guest may still be reached (not stopping or exited). */
  running: () => boolean;
  log: (message: string) => void;
}

export class SshJournalStream {
  #cursor: string | undefined;
  #connection: SshConnection | undefined;
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(private readonly options: SshJournalStreamOptions) {
    this.#done = this.#run();
  }

  /** Resolves when the stream ended for good. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Ends the stream (the machine is gone, or the journal is not wanted any more). */
  stop(): void {
    this.#stopped = true;
    this.#connection?.close();
  }

  async #run(): Promise<void> {
    const { journal, connect, running, log } = this.options;
    await journal.prepare();
    while (!this.#stopped && running()) {
      try {
        const connection = await connect();
        this.#connection = connection;
        if (this.#stopped) break;
        const channel = await connection.exec(journalStreamCommand(this.#cursor));
        channel.stderr.on('data', (chunk: Buffer) => log(`journalctl: ${chunk.toString().trim()}`));
        await journal.receive(channel, (fields) => {
          this.#cursor = fields.__CURSOR ?? this.#cursor;
        });
        connection.close();
      } catch (error) {
        if (!this.#stopped && running()) log(`reading the journal over SSH failed: ${(error as Error).message}`);
      }
      if (this.#stopped || !running()) break;
      log('the journal stream over SSH ended while the machine runs; resuming after the last entry');
      await sleep(RESUME_DELAY_MS);
    }
  }
}
