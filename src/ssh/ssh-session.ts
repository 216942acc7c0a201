/**
 * The SSH side of a machine: commands run on channels of a few long-lived connections, because a
 * new connection costs a full key exchange (about a second under TCG) and a channel a few
 * milliseconds. A connection carries as many commands at once as the guest's sshd allows
 * (`MaxSessions`, 10 by default); beyond that a further connection is opened, up to
 * {@link MAX_CONNECTIONS}, and beyond those commands wait for a free channel. A connection that is
 * lost (sshd killed or restarted) is replaced when the next command needs one.
 */
import { randomUUID } from 'node:crypto';
import { ExecAbortedError, MachineStateError, VmspawnError } from '../errors.js';
import { checkExecOptions, remoteCommandLine } from './exec-command-line.js';
import type { ExecOptions, ExecResult } from './exec-types.js';
import { runOnChannel } from './run-command.js';
import { quoteArgument, toShellCommand } from './shell-quote.js';
import { ChannelRefusedError, type SshConnection } from './ssh-connection.js';

export type { ExecOptions, ExecResult } from './exec-types.js';

/** Connections a session opens at most; 40 commands at once with sshd's defaults. */
export const MAX_CONNECTIONS = 4;

/** How long after a connection closed the guest may take to show that it is shutting down. */
const SHUTDOWN_SIGN_GRACE_MS = 3_000;

export interface SshSessionOptions {
  /** Opens and authenticates one more connection to the guest. */
  connect: () => Promise<SshConnection>;
  /** Whether the guest still runs; no new connection is opened when it does not. */
  guestRunning: () => boolean;
  /** Whether the guest is shutting down, or shows it within `graceMs`: then a closed connection was not lost. */
  guestStopsWithin: (graceMs: number) => Promise<boolean>;
  /** Where the session says what it did (new connections, losses). */
  log: (message: string) => void;
}

interface Waiter {
  wake: () => void;
}

export class SshSession {
  readonly #connections: SshConnection[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #closeListeners = new Set<() => void>();
  #connecting: Promise<void> | undefined;
  #closed = false;

  /** Starts with the connection made during boot. */
  constructor(
    first: SshConnection,
    private readonly options: SshSessionOptions,
  ) {
    this.#adopt(first);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.#connections.length;
  }

  /** Runs `command` (a shell command line, or an argument vector that is quoted for the shell). */
  async exec(command: string | readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const commandLine = toShellCommand(command);
    checkExecOptions(options);
    if (this.#closed) throw new MachineStateError(`Cannot run "${commandLine}": the SSH session of this machine is closed.`);
    const started = performance.now();
    const deadline = options.timeout === undefined ? undefined : started + options.timeout;
    // A callback that throws abandons its command too.
    const abandonable = deadline !== undefined || options.signal !== undefined || options.onStdout !== undefined || options.onStderr !== undefined;
    // sshd ignores signal requests for commands without a terminal, so a command that may be
    // abandoned runs with a marker in its environment, which its descendants inherit and by
    // which they are found and killed.
    const marker = abandonable ? `VMSPAWN_EXEC_ID=${randomUUID()}` : undefined;
    const remoteCommand = remoteCommandLine(commandLine, options, marker);

    const abandoned = (reason: 'timeout' | 'aborted') => new ExecAbortedError(commandLine, reason, '', '', options.timeout);
    for (let attempt = 1; ; attempt++) {
      const connection = await this.#acquire(deadline, options.signal, abandoned);
      let channel;
      try {
        channel = await connection.exec(remoteCommand);
      } catch (error) {
        this.#release(connection, false);
        if (error instanceof ChannelRefusedError && connection.channels > 0) {
          // The server allows fewer channels than assumed: remember its limit and try again.
          connection.capacity = Math.max(1, connection.channels);
          this.options.log(`ssh: the guest's sshd allows ${connection.capacity} commands per connection`);
          continue;
        }
        if (connection.closed && attempt < MAX_CONNECTIONS) continue;
        throw new VmspawnError(`Cannot start "${commandLine}" in the guest: ${(error as Error).message}`, { cause: error });
      }
      try {
        return await runOnChannel(
          channel,
          {
            commandLine,
            started,
            whyClosedEarly: () => this.#whyClosedEarly(connection),
            onAbandon: () => marker && this.#killMarked(marker),
          },
          options,
          deadline,
        );
      } finally {
        this.#release(connection, true);
      }
    }
  }

  /** Why a channel of `connection` closed without an exit status; undefined while the connection is up. */
  async #whyClosedEarly(connection: SshConnection): Promise<'guest-stopped' | 'connection-lost' | undefined> {
    if (!connection.closed) return undefined;
    if (!connection.lost || (await this.options.guestStopsWithin(SHUTDOWN_SIGN_GRACE_MS))) return 'guest-stopped';
    return 'connection-lost';
  }

  /**
   * Runs `use` on a session channel that `open` opens on a connection with a free one (SFTP), and
   * releases it once `use` settles. Waits for a free channel like {@link exec}.
   */
  async withChannel<Channel, Result>(
    open: (connection: SshConnection) => Promise<Channel>,
    use: (channel: Channel) => Promise<Result>,
    what: string,
  ): Promise<Result> {
    if (this.#closed) throw new MachineStateError(`Cannot ${what}: the SSH session of this machine is closed.`);
    const abandoned = () => new MachineStateError(`Cannot ${what}: no SSH channel was free.`);
    for (let attempt = 1; ; attempt++) {
      const connection = await this.#acquire(undefined, undefined, abandoned);
      let opened = false;
      try {
        let channel: Channel;
        try {
          channel = await open(connection);
          opened = true;
        } catch (error) {
          if (error instanceof ChannelRefusedError && connection.channels > 1) {
            connection.capacity = Math.max(1, connection.channels - 1);
            this.options.log(`ssh: the guest's sshd allows ${connection.capacity} channels per connection`);
            continue;
          }
          if (connection.closed && attempt < MAX_CONNECTIONS) continue;
          throw new VmspawnError(`Cannot ${what}: ${(error as Error).message}`, { cause: error });
        }
        return await use(channel);
      } finally {
        this.#release(connection, opened);
      }
    }
  }

  /**
   * A connection that is up, opened when none is, for channels that sshd does not count against
   * `MaxSessions` (TCP forwarding): no channel is reserved.
   */
  async anyConnection(): Promise<SshConnection> {
    for (;;) {
      if (this.#closed) throw new MachineStateError('The SSH session of this machine was closed.');
      const open = this.#connections.find((connection) => !connection.closed);
      if (open) return open;
      if (!this.#connecting) {
        this.#connecting = this.#openConnection().finally(() => {
          this.#connecting = undefined;
          this.#wakeAll();
        });
      }
      await this.#connecting;
    }
  }

  /** Calls `listener` once when the session is closed (the machine stopped). */
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.add(listener);
  }

  /** Closes every connection; later commands fail. */
  close(): void {
    if (!this.#closed) {
      for (const listener of this.#closeListeners) listener();
      this.#closeListeners.clear();
    }
    this.#closed = true;
    for (const connection of this.#connections) connection.close();
    for (const waiter of this.#waiters) waiter.wake();
  }

  /** A connection with a free channel, reserved for the caller; opens or waits for one when none is free. */
  async #acquire(deadline: number | undefined, signal: AbortSignal | undefined, abandoned: (reason: 'timeout' | 'aborted') => Error): Promise<SshConnection> {
    for (;;) {
      if (this.#closed) throw new MachineStateError('The SSH session of this machine was closed.');
      if (signal?.aborted) throw abandoned('aborted');
      if (deadline !== undefined && performance.now() >= deadline) throw abandoned('timeout');
      const free = this.#connections.find((connection) => !connection.closed && connection.channels < connection.capacity);
      if (free) {
        free.channels++;
        return free;
      }
      if (!this.#connecting && this.#connections.length < MAX_CONNECTIONS) {
        this.#connecting = this.#openConnection().finally(() => {
          this.#connecting = undefined;
          this.#wakeAll();
        });
        // A failed connection attempt fails the commands that needed it, not the session.
        await this.#connecting;
        continue;
      }
      await this.#waitForChange(deadline, signal);
    }
  }

  async #openConnection(): Promise<void> {
    if (!this.options.guestRunning()) throw new MachineStateError('The guest is not running: no new SSH connection is opened.');
    const reason = this.#connections.length === 0 ? 'the previous one was lost' : `${this.#connections.length} connection(s) busy`;
    const started = performance.now();
    try {
      const connection = await this.options.connect();
      this.options.log(`ssh: opened connection ${this.#connections.length + 1} (${reason}) in ${Math.round(performance.now() - started)} ms`);
      this.#adopt(connection);
    } catch (error) {
      this.options.log(`ssh: opening a connection failed (${reason}): ${(error as Error).message}`);
      throw new VmspawnError(`Cannot open an SSH connection to the guest (${reason}): ${(error as Error).message}`, { cause: error });
    }
  }

  #adopt(connection: SshConnection): void {
    if (this.#closed) return connection.close();
    this.#connections.push(connection);
    connection.onClose((unexpected) => {
      this.#connections.splice(this.#connections.indexOf(connection), 1);
      if (unexpected && !this.#closed && this.options.guestRunning()) {
        this.options.log(`ssh: a connection to the guest was lost with ${connection.channels} command(s) running; the next command connects again`);
      }
      this.#wakeAll();
    });
  }

  /** Frees the channel reserved on `connection`; one that was opened only once the server has read its close. */
  #release(connection: SshConnection, opened: boolean): void {
    const free = () => {
      connection.channels--;
      this.#wakeAll();
    };
    if (opened) void connection.caughtUp().then(free);
    else free();
  }

  #wakeAll(): void {
    for (const waiter of this.#waiters) waiter.wake();
  }

  /** Resolves when a channel or connection frees up, or the deadline or signal ends the wait (then the caller re-checks). */
  #waitForChange(deadline: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = deadline === undefined ? undefined : setTimeout(() => waiter.wake(), Math.max(0, deadline - performance.now()));
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', waiter.wake);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', waiter.wake, { once: true });
    });
  }

  /**
   * Kills every guest process whose environment carries `marker` (not awaited). One grep reads all
   * environments at once: a loop with a process per candidate took seconds under load.
   */
  #killMarked(marker: string): void {
    const script =
      `for environ in $(grep -lzxF ${quoteArgument(marker)} /proc/[0-9]*/environ 2>/dev/null); do ` +
      'pid=${environ#/proc/}; kill -KILL "${pid%/environ}" 2>/dev/null; done; true';
    if (!this.#closed) void this.exec(script, { reject: false }).catch(() => undefined);
  }
}
