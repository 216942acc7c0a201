/**
 * Everything a running machine owns (processes, listeners, the SSH session) and the one path by
 * which it all ends: when QEMU exits, for whatever reason, the listeners close, the journal is
 * flushed and converted, the helper daemon stops, summary.json is written and the runtime
 * directory is deleted. Every runtime of the process is listed, so that a process that must end
 * (its test run was interrupted) can end its machines first.
 */
import { appendFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import type { AcceleratorChoice } from '../host/accelerator.js';
import { removeRuntimeDir } from '../host/runtime-dir.js';
import type { VsockChoice } from '../host/vsock-choice.js';
import { MachineJournal } from '../journal/machine-journal.js';
import type { SshJournalStream } from '../journal/ssh-journal-stream.js';
import { describeSuppression, readSuppressionReport } from '../journal/suppressed-messages.js';
import { NotifyEvents } from '../notify/notify-events.js';
import { formatNotifyLogLine, isShutdownSign } from '../notify/notify-message.js';
import { listenForNotifications } from '../notify/notify-listener.js';
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import type { BootPlan } from '../plan/boot-plan.js';
import type { GuestPorts } from '../plan/credentials.js';
import type { MachineLayout } from '../plan/machine-layout.js';
import type { ManagedProcess } from '../process/managed-process.js';
import type { ForwardedPort } from '../process/port-forwards.js';
import type { QmpClient } from '../process/qmp-client.js';
import type { MachineSshKeys } from '../ssh/keys.js';
import type { SshSession } from '../ssh/ssh-session.js';
import { NO_VSOCK } from '../transport/control-network.js';
import type { VsockListener, VsockTransport } from '../transport/vsock-transport.js';
import type { WaitOptions } from '../util/event-log.js';
import { readTail } from '../util/read-tail.js';
import { settlesWithin, within } from '../util/within.js';
import { describeExit, type QemuExit } from './exit-description.js';
import { requestPowerOff } from './power-off-request.js';
import type { MachineLog } from './machine-log.js';
import type { MachineExit, MachineSummary } from './summary.js';

export type RuntimeState = 'starting' | 'running' | 'stopping' | 'exited';

/** How long QEMU gets to exit after QMP `quit` before it is killed. */
const QUIT_GRACE_MS = 3_000;
/**
 * How long shutdown() waits for a sign that the guest heard the power-off request (a notify
 * message, or `systemctl poweroff` run over SSH) before it quits QEMU instead of waiting out the
 * whole shutdownTimeout.
 */
const SHUTDOWN_ACK_MS = 8_000;

const liveRuntimes = new Set<MachineRuntime>();

/**
 * Ends every machine of this process at once (QEMU is killed), as `endedBy` says, and waits up to
 * `timeoutMs` for their artifacts to be written. For a process that is about to exit.
 */
export async function endLiveMachines(endedBy: 'abandoned', reason: string, timeoutMs: number): Promise<void> {
  const ends = [...liveRuntimes].map((runtime) => runtime.kill(endedBy, reason).catch(() => undefined));
  await settlesWithin(Promise.all(ends), timeoutMs);
}

export interface MachineRuntimeParts {
  options: ResolvedMachineOptions;
  layout: MachineLayout;
  log: MachineLog;
  accelerator: AcceleratorChoice;
  vsock: VsockChoice;
  transport: VsockTransport;
  ports: GuestPorts;
  /** How the guest boots. */
  boot: BootPlan;
  /** Whether the artifacts directory is a temporary one of the engine's, deleted after a normal end. */
  ownsArtifactsDir: boolean;
}

export class MachineRuntime {
  readonly options: ResolvedMachineOptions;
  readonly layout: MachineLayout;
  readonly log: MachineLog;
  readonly notify = new NotifyEvents();
  readonly journal: MachineJournal;
  readonly startedAt = new Date();
  ssh: SshSession | undefined;
  /** The machine's SSH keys (client and host), for handing a shell to a person (debug mode). */
  sshKeys: MachineSshKeys | undefined;
  bootError: string | undefined;
  readyAfterMs: number | undefined;
  sshReadyAfterMs: number | undefined;
  /** The guest's vsock CID, once QEMU runs. */
  vsockCid: number | undefined;
  /** Host ports of the user-mode network's forwards, as QEMU bound them. */
  forwardedPorts: ForwardedPort[] = [];
  /** Without vsock: the journal, read over SSH. */
  journalStream: SshJournalStream | undefined;

  #qemu: ManagedProcess | undefined;
  #qemuStartedAt: number | undefined;
  /** Helper daemons in start order; stopped in reverse order after QEMU. */
  #helpers: Array<{ name: string; process: ManagedProcess }> = [];
  #qmp: QmpClient | undefined;
  #listeners: VsockListener[] = [];
  #endedBy: MachineExit['endedBy'] | undefined;
  #endReason: string | undefined;
  #wasRunning = false;
  #powerOff: Promise<void> | undefined;
  #onEnded: ((exit: MachineExit) => void) | undefined;
  readonly #ended = new Promise<MachineExit>((resolve) => {
    this.#onEnded = resolve;
  });
  #nativeJournal: string | undefined;
  #exit: MachineExit | undefined;
  #finished: Promise<MachineExit> | undefined;
  /** Writes into the runtime directory (the registry's) that its removal waits for. */
  readonly #runtimeDirWrites = new Set<Promise<unknown>>();
  #runtimeDirClosing = false;

  constructor(private readonly parts: MachineRuntimeParts) {
    this.options = parts.options;
    this.layout = parts.layout;
    this.log = parts.log;
    this.journal = new MachineJournal(parts.layout.journalExport, parts.layout.journalNative);
    liveRuntimes.add(this);
  }

  get state(): RuntimeState {
    return this.#state;
  }

  set state(state: RuntimeState) {
    if (state === 'running') this.#wasRunning = true;
    this.#state = state;
  }
  #state: RuntimeState = 'starting';

  /** Resolves as soon as QEMU has exited and it is known how the machine ended, before the artifacts are complete. */
  get ended(): Promise<MachineExit> {
    return this.#ended;
  }

  /** Whether the artifacts directory is a temporary one the engine created. */
  get ownsArtifactsDir(): boolean {
    return this.parts.ownsArtifactsDir;
  }

  get vsockKind(): VsockChoice['kind'] {
    return this.parts.vsock.kind;
  }

  get accelerator(): 'kvm' | 'tcg' {
    return this.parts.accelerator.accelerator;
  }

  get qmp(): QmpClient {
    if (!this.#qmp) throw new Error('QMP is not connected yet');
    return this.#qmp;
  }

  get qemu(): ManagedProcess | undefined {
    return this.#qemu;
  }

  /** Milliseconds since QEMU started (since the runtime was created, before that). */
  sinceQemuStart(): number {
    return this.log.elapsed() - (this.#qemuStartedAt ?? 0);
  }

  /** Starts receiving notify messages and the journal; must run before the guest boots. */
  async listen(): Promise<void> {
    const { transport } = this.parts;
    await writeFile(this.layout.notifyLog, '', { mode: 0o644 });
    if (this.parts.vsock.kind === 'none') return this.notify.markUnavailable(NO_VSOCK);
    this.#listeners.push(
      await listenForNotifications(transport, this.parts.ports.notify, () => this.sinceQemuStart(), (message) => {
        appendFileSync(this.layout.notifyLog, formatNotifyLogLine(message));
        this.notify.push(message);
        if (this.state === 'running' && isShutdownSign(message)) {
          this.state = 'stopping';
          this.log.info(`the guest is shutting down (${message.raw.replaceAll('\n', ' ')})`);
        }
      }),
    );
    if (this.options.forwardJournal) {
      await this.journal.listen(transport, this.parts.ports.journal);
      this.journal.subscribe((entry) => {
        const report = readSuppressionReport(entry.fields);
        if (report) this.log.info(describeSuppression(report));
      });
    }
  }

  /** @internal Records a helper daemon (vsock, TPM, file system), which must outlive QEMU and is stopped after it. */
  adoptHelper(name: string, process: ManagedProcess): void {
    this.#helpers.push({ name, process });
  }

  /** @internal Records QEMU: its exit, whatever the cause, ends the machine. */
  adoptQemu(qemu: ManagedProcess): void {
    this.#qemu = qemu;
    this.#qemuStartedAt = this.log.elapsed();
    this.#finished = qemu.exited.then((exit) => this.#finish(exit));
  }

  /** @internal */
  adoptQmp(qmp: QmpClient): void {
    this.#qmp = qmp;
  }

  /** Resolves once QEMU exited and the artifacts are complete. */
  waitForExit(options: WaitOptions = {}): Promise<MachineExit> {
    return within(this.#finished ?? this.#finishWithoutQemu(), options, () => 'the machine to exit');
  }

  /**
   * Powers the guest off, quitting QEMU if it takes longer than `timeout`, or sooner when neither
   * SSH nor the ACPI power button reached the guest's system manager.
   */
  async shutdown(timeout = this.options.shutdownTimeout): Promise<MachineExit> {
    const qemu = this.#qemu;
    if (qemu && this.state !== 'exited') {
      this.#powerOff ??= this.#powerOffQemu(qemu, timeout);
      await this.#powerOff;
    }
    return this.waitForExit();
  }

  async #powerOffQemu(qemu: ManagedProcess, timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    const guestGoingDown = this.state === 'stopping';
    this.state = 'stopping';
    if (!guestGoingDown) this.#endedBy ??= 'shutdown';
    this.log.info(`shutdown requested (timeout ${timeout} ms)`);
    const { heard, stop } = requestPowerOff({ ssh: this.ssh, qmp: this.#qmp, notify: this.notify });
    try {
      if (!(await settlesWithin(Promise.race([qemu.exited, heard]), Math.min(timeout, SHUTDOWN_ACK_MS)))) {
        this.log.info(`neither SSH nor the ACPI power button reached the guest's system manager within ${Math.min(timeout, SHUTDOWN_ACK_MS)} ms; quitting QEMU`);
        this.#endReason ??= 'shutdown() could not reach the guest (no SSH, no reaction to the ACPI power button); QEMU was quit';
        await this.#quitQemu(qemu);
        return;
      }
    } finally {
      stop();
    }
    if (!(await settlesWithin(qemu.exited, Math.max(0, deadline - Date.now())))) {
      this.log.info(`the guest did not power off within ${timeout} ms; quitting QEMU`);
      this.#endReason ??= `the guest did not power off within ${timeout} ms; QEMU was quit`;
      await this.#quitQemu(qemu);
    }
  }

  /** Kills QEMU at once. */
  async kill(reason: MachineExit['endedBy'], explanation?: string): Promise<MachineExit> {
    if (this.state !== 'exited') {
      this.state = 'stopping';
      if (this.#endedBy === undefined) {
        this.#endedBy = reason;
        this.#endReason = explanation;
      }
      this.log.info(`killing QEMU (${explanation ?? reason})`);
      this.#qemu?.kill('SIGKILL');
    }
    if (!this.#qemu) return this.#finishWithoutQemu();
    return this.waitForExit();
  }

  async consoleTail(lines = 30): Promise<string> {
    return readTail(this.layout.consoleLog, lines);
  }

  summary(): MachineSummary {
    const { options, parts } = this;
    return {
      name: options.name,
      uuid: options.uuid ?? '',
      accelerator: parts.accelerator.accelerator,
      acceleratorReason: parts.accelerator.reason,
      vsock: parts.vsock.reason,
      vsockCid: this.vsockCid,
      boot: {
        path: parts.boot.path,
        machine: parts.boot.machine.type,
        firmware: parts.boot.firmware?.descriptor.path,
        secureBoot: parts.boot.firmware?.descriptor.features.includes('secure-boot') ?? false,
      },
      cpus: options.cpus,
      ramBytes: options.ramBytes,
      startedAt: this.startedAt.toISOString(),
      readyAfterMs: round(this.readyAfterMs),
      sshReadyAfterMs: round(this.sshReadyAfterMs),
      processes: { qemu: this.#qemu?.pid, ...Object.fromEntries(this.#helpers.map(({ name, process }) => [name, process.pid])) },
      notifyMessages: this.notify.unavailable ?? this.notify.messages.length,
      journalEntries: this.journal.entries().length,
      journalSuppressed: this.journal.suppressed,
      nativeJournal: this.#nativeJournal,
      exit: this.#exitWithBootError(),
      error: this.bootError,
    };
  }

  /** QEMU may exit before the boot's failure is diagnosed (a panic): the reason follows the diagnosis. */
  #exitWithBootError(): MachineExit | undefined {
    const exit = this.#exit;
    if (exit?.endedBy !== 'boot-failure' || this.bootError === undefined || this.#endReason !== undefined) return exit;
    return { ...exit, reason: `the boot failed: ${this.bootError}` };
  }

  async #quitQemu(qemu: ManagedProcess): Promise<void> {
    void this.#qmp?.execute('quit').catch(() => undefined);
    if (!(await settlesWithin(qemu.exited, QUIT_GRACE_MS))) qemu.kill('SIGKILL');
    await qemu.exited;
  }

  /**
   * Runs `write` on the runtime directory unless its removal has begun (then it resolves undefined
   * without running it); the removal waits for it, so nothing is written into a directory that is
   * going or gone.
   */
  writeRuntimeDir<T>(write: () => Promise<T>): Promise<T | undefined> {
    if (this.#runtimeDirClosing) return Promise.resolve(undefined);
    const running = write();
    const settled = running.catch(() => undefined);
    this.#runtimeDirWrites.add(settled);
    void settled.finally(() => this.#runtimeDirWrites.delete(settled));
    return running;
  }

  /** Last of a machine's end: `terminate` and `list` take the directory's removal as the end, artifacts finished. */
  async #removeRuntimeDir(): Promise<void> {
    this.#runtimeDirClosing = true;
    await Promise.all(this.#runtimeDirWrites);
    await removeRuntimeDir(this.layout.runtimeDir);
  }

  async #finish(qemuExit: QemuExit): Promise<MachineExit> {
    // The listeners stay up until QEMU is gone: journald loses the message of a failed write. They
    // close before anything else: the guest sends EXIT_STATUS shortly before it powers off, and a
    // notify message is complete only at its connection's end (or after a short silence, where the
    // transport drops the half-close), so closing them completes a message still open, and the exit
    // below includes it.
    await Promise.all(this.#listeners.map((listener) => listener.close()));
    const exit = await describeExit({
      endedBy: this.#endedBy,
      endReason: this.#endReason,
      booting: this.state === 'starting',
      notify: this.notify,
      bootError: this.bootError,
      layout: this.layout,
      qemuExit,
    });
    this.state = 'exited';
    this.log.info(`QEMU exited (${qemuExit.signal ? `signal ${qemuExit.signal}` : `code ${qemuExit.exitCode}`}); ended by ${exit.endedBy}: ${exit.reason}`);
    this.#exit = exit;
    this.#onEnded?.(exit);
    try {
      try {
        await this.#releaseEverything();
        await this.writeSummary();
      } finally {
        await this.#removeRuntimeDir();
      }
      // A boot that failed removes its own temporary directory, once the error has read the logs.
      if (this.parts.ownsArtifactsDir && this.#wasRunning) await rm(this.layout.artifactsDir, { recursive: true, force: true });
    } finally {
      liveRuntimes.delete(this);
    }
    return exit;
  }

  /** The end of a machine whose QEMU never started (a boot that failed early). */
  #finishWithoutQemu(): Promise<MachineExit> {
    this.#finished ??= this.#finish({ exitCode: undefined, signal: undefined });
    return this.#finished;
  }

  async #releaseEverything(): Promise<void> {
    this.ssh?.close();
    this.#qmp?.close();
    this.notify.end('the machine exited');
    if (this.options.forwardJournal) {
      await this.journal.close('the machine exited');
      this.journalStream?.stop();
      const native = await this.journal.convert();
      this.#nativeJournal = native.written ? native.path : native.reason;
      this.log.info(native.written ? `native journal written: ${native.path}` : `no native journal: ${native.reason}`);
    }
    for (const { process } of [...this.#helpers].reverse()) await process.terminate(1_000);
  }

  async writeSummary(): Promise<void> {
    await writeFile(this.layout.summary, `${JSON.stringify(this.summary(), null, 2)}\n`).catch(() => undefined);
  }
}

function round(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value);
}
