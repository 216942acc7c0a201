/**
 * The handle of a running machine: run commands, open vsock streams, read notify messages and the
 * journal, and power it off. Created by {@link Machine.start}.
 */
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExecAbortedError, ExecConnectionLostError, ExecError, MachineEndedError, MachineStateError, VmspawnError } from '../errors.js';
import type { JournalEntry, JournalMatch } from '../journal/journal-entry.js';
import type { MachineJournal } from '../journal/machine-journal.js';
import type { NotifyEvents } from '../notify/notify-events.js';
import type { ForwardedPort } from '../process/port-forwards.js';
import type { QmpClient } from '../process/qmp-client.js';
import { toShellCommand } from '../ssh/shell-quote.js';
import type { ExecOptions, ExecResult, SshSession } from '../ssh/ssh-session.js';
import type { ConnectOptions, VsockTransport } from '../transport/vsock-transport.js';
import type { WaitOptions } from '../util/event-log.js';
import type { MachineRuntime, RuntimeState as MachineState } from './machine-runtime.js';
import type { MachineExit, MachineSummary } from './summary.js';

export type { RuntimeState as MachineState } from './machine-runtime.js';

/** How long a command whose connection broke waits to learn whether the machine ended meanwhile. */
const LOST_COMMAND_GRACE_MS = 3_000;

export interface ShutdownOptions {
  /**
   * Milliseconds to wait for the guest to power off before QEMU is killed.
   * @default the machine's shutdownTimeout
   */
  timeout?: number;
}

export class StartedMachine implements AsyncDisposable {
  /** @internal */
  constructor(
    private readonly runtime: MachineRuntime,
    private readonly ssh: SshSession | undefined,
    private readonly transport: VsockTransport,
  ) {}

  /** The machine name (also the guest's hostname). */
  get name(): string {
    return this.runtime.options.name;
  }

  /** SMBIOS UUID; the guest's machine-id when its image leaves machine-id empty. */
  get uuid(): string {
    return this.runtime.options.uuid ?? '';
  }

  /** `'kvm'` or `'tcg'`, as chosen at start (see the machine log for why). */
  get accelerator(): 'kvm' | 'tcg' {
    return this.runtime.accelerator;
  }

  /** Directory with console.log, qemu.log, qemu-cmdline.txt, notify.log, journal files, vmspawn.log and summary.json. */
  get artifactsDir(): string {
    return this.runtime.layout.artifactsDir;
  }

  get state(): MachineState {
    return this.runtime.state;
  }

  /** Boot timings and, once exited, how it ended. */
  get summary(): MachineSummary {
    return this.runtime.summary();
  }

  /** sd_notify messages from the guest's system manager (READY, STATUS, X_SYSTEMD_UNIT_ACTIVE, EXIT_STATUS, …). */
  get notify(): NotifyEvents {
    return this.runtime.notify;
  }

  /** The guest's forwarded journal. */
  get journal(): MachineJournal {
    return this.runtime.journal;
  }

  /** QEMU's control connection, for commands the handle does not wrap. */
  get qmp(): QmpClient {
    return this.runtime.qmp;
  }

  /**
   * Runs a command in the guest over SSH as root. A string is a shell command line; an array is an
   * argument vector, quoted for the shell. Rejects with an ExecError on a non-zero exit unless `reject: false`.
   */
  async exec(command: string | readonly string[], options?: ExecOptions): Promise<ExecResult> {
    if (!this.ssh) throw new MachineStateError('exec() needs SSH, which is off for this machine (ssh: false).');
    if (this.runtime.state !== 'running') throw new MachineStateError(`exec() on a machine that is ${this.#describeState()}.`);
    try {
      return await this.ssh.exec(command, options);
    } catch (error) {
      throw await this.#explainFailure(error, command);
    }
  }

  /**
   * A command whose connection broke (no exit status) because QEMU died is reported as the end of
   * the machine, with how it ended; a guest that shut itself down keeps the command's own error.
   */
  async #explainFailure(error: unknown, command: string | readonly string[]): Promise<unknown> {
    if (error instanceof ExecAbortedError || (error instanceof ExecError && (error.exitCode !== null || error.signal !== undefined))) return error;
    // The session already waited for signs of the guest going down, and the machine still runs.
    if (error instanceof ExecConnectionLostError && error.reason === 'connection-lost') return error;
    const giveUp = new AbortController();
    const exit = await Promise.race([
      this.runtime.ended,
      sleep(LOST_COMMAND_GRACE_MS, undefined, { signal: giveUp.signal }).catch(() => undefined),
    ]);
    giveUp.abort();
    if (!exit || exit.endedBy === 'guest' || exit.endedBy === 'shutdown') return error;
    return new MachineEndedError(toShellCommand(command), exit, { cause: error });
  }

  #describeState(): string {
    const exit = this.runtime.summary().exit;
    return exit ? `${this.runtime.state} (${exit.reason})` : this.runtime.state;
  }

  /**
   * The forwarded ports of `network: 'user'` (`portForwards`): each guest TCP port with the host port
   * on 127.0.0.1 that reaches it, ports picked by QEMU included.
   */
  get forwardedPorts(): readonly ForwardedPort[] {
    return this.runtime.forwardedPorts;
  }

  /** The host port (on 127.0.0.1) that reaches guest TCP port `guest`; throws if that port is not forwarded. */
  hostPort(guest: number): number {
    const forward = this.runtime.forwardedPorts.find((port) => port.guest === guest);
    if (!forward) {
      const forwarded = this.runtime.forwardedPorts.map((port) => port.guest).join(', ') || 'none';
      throw new VmspawnError(`guest port ${guest} is not forwarded (forwarded: ${forwarded}); add it to portForwards, with network: 'user'`);
    }
    return forward.host;
  }

  /** Opens a byte stream to a vsock port in the guest. */
  connect(port: number, options?: ConnectOptions): Promise<Duplex> {
    if (this.runtime.state !== 'running') {
      return Promise.reject(new MachineStateError(`connect() on a machine that is ${this.#describeState()}.`));
    }
    return this.transport.connect(port, options);
  }

  /** Journal entries received so far that match (see {@link JournalMatch}). */
  journalEntries(match?: JournalMatch): JournalEntry[] {
    return this.runtime.journal.entries(match);
  }

  /** Resolves with the first matching journal entry, already received or still to come. */
  waitForJournal(match: JournalMatch, options?: WaitOptions): Promise<JournalEntry> {
    return this.runtime.journal.waitFor(match, options);
  }

  /**
   * @internal What an OpenSSH client needs to log in as root: the client key, the pinned host key and
   * the vhost-device-vsock socket that reaches guest port 22 (after `CONNECT 22\n`). Undefined with `ssh: false`.
   */
  get sshAccess(): { clientPrivateKey: string; hostPublicKey: string; vsockSocket: string } | undefined {
    const keys = this.runtime.sshKeys;
    return keys && { clientPrivateKey: keys.clientPrivateKey, hostPublicKey: keys.hostPublicKey, vsockSocket: this.runtime.layout.vsockSocket };
  }

  /** The last `lines` lines of the guest console. */
  consoleTail(lines = 30): Promise<string> {
    return this.runtime.consoleTail(lines);
  }

  /** Resolves when QEMU has exited (for example after `systemctl exit 42` in the guest) and the artifacts are written. */
  waitForExit(options?: WaitOptions): Promise<MachineExit> {
    return this.runtime.waitForExit(options);
  }

  /**
   * Powers the guest off cleanly and resolves with its exit status (`EXIT_STATUS`, 0 for a plain
   * power-off; undefined when the guest did not send one). QEMU is killed if the guest takes longer
   * than the timeout.
   */
  async shutdown(options?: ShutdownOptions): Promise<number | undefined> {
    const exit = await this.runtime.shutdown(options?.timeout);
    return exit.exitStatus;
  }

  /** Shuts down like {@link shutdown}, ignoring the exit status. Safe to call more than once. */
  async stop(): Promise<void> {
    await this.runtime.shutdown();
  }

  /** Kills QEMU at once, without a clean shutdown. Artifacts are still written. */
  async kill(): Promise<void> {
    await this.runtime.kill('killed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
