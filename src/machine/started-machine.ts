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
import { checkExecOptions } from '../ssh/exec-command-line.js';
import { checkWriteFileOptions, copyFromGuest, copyToGuest, readGuestFile, type TransferContext, type WriteFileOptions, writeGuestFile } from '../ssh/sftp-transfer.js';
import { toShellCommand } from '../ssh/shell-quote.js';
import { type ForwardPortOptions, type GuestPortForward, startPortForward } from '../ssh/ssh-port-forward.js';
import type { ExecOptions, ExecResult, SshSession } from '../ssh/ssh-session.js';
import type { ConnectOptions, VsockTransport } from '../transport/vsock-transport.js';
import type { WaitOptions } from '../util/event-log.js';
import type { MachineRuntime, RuntimeState as MachineState } from './machine-runtime.js';
import { sshTcpAddress } from './no-vsock.js';
import type { MachineExit, MachineSummary } from './summary.js';
import { waitForConsole, type ConsoleWaitOptions } from './waits/console-wait.js';
import { waitForFile, waitForPort, waitUntilFails, waitUntilSucceeds } from './waits/guest-waits.js';
import type { ListeningSocket } from './waits/proc-net-tcp.js';
import type { UnitStatus } from './waits/unit-state.js';
import { waitForUnit, type UnitWaitOptions } from './waits/unit-wait.js';
import type { WaitContext } from './waits/wait-context.js';
import type { GuestWaitOptions } from './waits/wait-options.js';

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
    checkExecOptions(options ?? {});
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

  /**
   * Copies a host file or directory tree to the guest over SFTP. `guestPath` is the path of the copy
   * (its parent must exist; an existing directory there is merged into). Permission bits are kept;
   * symbolic links inside a directory are copied as links. Guest files belong to root.
   */
  async copyTo(hostPath: string, guestPath: string): Promise<void> {
    await this.#withSftp('copyTo', (files) => copyToGuest(files, hostPath, guestPath));
  }

  /** Copies a guest file or directory tree to the host, like {@link copyTo} the other way. */
  async copyFrom(guestPath: string, hostPath: string): Promise<void> {
    await this.#withSftp('copyFrom', (files) => copyFromGuest(files, guestPath, hostPath));
  }

  /** Reads a guest file: its bytes, or its text in `encoding`. */
  readFile(guestPath: string): Promise<Buffer>;
  readFile(guestPath: string, encoding: BufferEncoding): Promise<string>;
  async readFile(guestPath: string, encoding?: BufferEncoding): Promise<Buffer | string> {
    return this.#withSftp('readFile', (files) => readGuestFile(files, guestPath, encoding));
  }

  /** Creates or replaces a guest file (owned by root); text is written as UTF-8. */
  async writeFile(guestPath: string, data: string | Uint8Array, options?: WriteFileOptions): Promise<void> {
    checkWriteFileOptions(options ?? {});
    await this.#withSftp('writeFile', (files) => writeGuestFile(files, guestPath, data, options));
  }

  /**
   * Listens on a host port on 127.0.0.1 that reaches guest TCP port `guestPort` through the SSH
   * connection (no guest network needed). Closed by `close()` or when the machine stops.
   */
  async forwardPort(guestPort: number, options: ForwardPortOptions = {}): Promise<GuestPortForward> {
    const ssh = this.#sshFor('forwardPort()');
    const forward = await startPortForward(guestPort, options, {
      openChannel: async (host, port, origin) => (await ssh.anyConnection()).forwardOut(host, port, origin),
      log: (message) => this.runtime.log.info(message),
      machine: `machine "${this.name}"`,
    });
    ssh.onClose(() => void forward.close());
    return forward;
  }

  /** Runs `use` with an SFTP session on a channel of the machine's SSH connection. */
  #withSftp<T>(what: string, use: (files: TransferContext) => Promise<T>): Promise<T> {
    const ssh = this.#sshFor(`${what}()`);
    return ssh.withChannel(
      (connection) => connection.sftp(),
      async (session) => {
        try {
          return await use({ sftp: session.sftp, machine: `machine "${this.name}"` });
        } finally {
          await session.close();
        }
      },
      `${what}: open an SFTP session`,
    );
  }

  #sshFor(what: string): SshSession {
    if (!this.ssh) throw new MachineStateError(`${what} needs SSH, which is off for this machine (ssh: false).`);
    if (this.runtime.state !== 'running') throw new MachineStateError(`${what} on a machine that is ${this.#describeState()}.`);
    return this.ssh;
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

  // Waits: each has a timeout (60 s by default) and ends at once, with what it last observed, when
  // the machine ends or the signal aborts. See src/machine/waits/.

  /**
   * Resolves when systemd unit `name` (`ssh` means `ssh.service`) is in `state` (`'active'` by
   * default), with its `systemctl show` state. Rejects at once with a UnitFailedError (its
   * `systemctl status` and last journal lines) when the unit enters `failed`, unless `failed` is
   * awaited. Targets reported over notify need no command; other units are read over SSH.
   * Times out after `timeout` ms (default 60 s).
   */
  waitForUnit(name: string, options?: UnitWaitOptions): Promise<UnitStatus> {
    return waitForUnit(this.#waitContext(), name, options);
  }

  /** Resolves when `path` exists in the guest. Times out after `timeout` ms (default 60 s). */
  waitForFile(path: string, options?: GuestWaitOptions): Promise<void> {
    return waitForFile(this.#waitContext(), path, options);
  }

  /** Resolves with the sockets listening on guest TCP `port` (IPv4 or IPv6) once there is one. Times out after `timeout` ms (default 60 s). */
  waitForPort(port: number, options?: GuestWaitOptions): Promise<ListeningSocket[]> {
    return waitForPort(this.#waitContext(), port, options);
  }

  /** Runs `command` (as {@link exec} does) until it exits 0; resolves with that result. Times out after `timeout` ms (default 60 s). */
  waitUntilSucceeds(command: string | readonly string[], options?: GuestWaitOptions): Promise<ExecResult> {
    return waitUntilSucceeds(this.#waitContext(), command, options);
  }

  /** Runs `command` until it fails; resolves with that result. Times out after `timeout` ms (default 60 s). */
  waitUntilFails(command: string | readonly string[], options?: GuestWaitOptions): Promise<ExecResult> {
    return waitUntilFails(this.#waitContext(), command, options);
  }

  /**
   * Resolves with the first line of the serial console (console.log, colour codes removed) that
   * contains `pattern` or matches it; lines printed before the call count unless `since: 'now'`.
   * Times out after `timeout` ms (default 60 s).
   */
  waitForConsole(pattern: string | RegExp, options?: ConsoleWaitOptions): Promise<string> {
    return waitForConsole(this.#waitContext(), pattern, options);
  }

  #waitContext(): WaitContext {
    const { runtime } = this;
    return {
      exec: (command, options) => this.exec(command, options),
      hasSsh: this.ssh !== undefined,
      notify: runtime.notify,
      journal: runtime.journal,
      forwardJournal: runtime.options.forwardJournal,
      consoleLog: runtime.layout.consoleLog,
      ended: runtime.ended,
    };
  }

  /**
   * @internal What an OpenSSH client needs to log in as root: the client key, the pinned host key and
   * the vhost-device-vsock socket that reaches guest port 22 (after `CONNECT 22\n`), under kernel
   * vsock the guest's CID, or without vsock the TCP address that does. Undefined with `ssh: false`.
   */
  get sshAccess():
    | { clientPrivateKey: string; hostPublicKey: string; vsockSocket: string; kernelVsockCid?: number; tcp?: { host: string; port: number } | undefined }
    | undefined {
    const keys = this.runtime.sshKeys;
    const kernelVsockCid = this.runtime.vsockKind === 'kernel' ? this.runtime.vsockCid : undefined;
    return (
      keys && {
        clientPrivateKey: keys.clientPrivateKey,
        hostPublicKey: keys.hostPublicKey,
        vsockSocket: this.runtime.layout.vsockSocket,
        ...(kernelVsockCid === undefined ? {} : { kernelVsockCid }),
        tcp: sshTcpAddress(this.transport),
      }
    );
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
