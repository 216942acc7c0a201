/**
 * Everything a running machine owns (processes, listeners, the SSH session) and the one path by
 * which it all ends: when QEMU exits, for whatever reason, the listeners close, the journal is
 * flushed and converted, the helper daemon stops, summary.json is written and the runtime
 * directory is deleted.
 */
import { appendFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import type { AcceleratorChoice } from '../host/accelerator.js';
import { removeRuntimeDir } from '../host/runtime-dir.js';
import type { VsockChoice } from '../host/vsock-choice.js';
import { MachineJournal } from '../journal/machine-journal.js';
import { describeSuppression, readSuppressionReport } from '../journal/suppressed-messages.js';
import { NotifyEvents } from '../notify/notify-events.js';
import { formatNotifyLogLine } from '../notify/notify-message.js';
import { listenForNotifications } from '../notify/notify-listener.js';
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import type { GuestPorts } from '../plan/credentials.js';
import type { MachineLayout } from '../plan/machine-layout.js';
import type { ManagedProcess } from '../process/managed-process.js';
import type { QmpClient } from '../process/qmp-client.js';
import type { SshSession } from '../ssh/ssh-session.js';
import type { VsockListener, VsockTransport } from '../transport/vsock-transport.js';
import type { WaitOptions } from '../util/event-log.js';
import { readTail } from '../util/read-tail.js';
import { settlesWithin, within } from '../util/within.js';
import type { MachineLog } from './machine-log.js';
import type { MachineExit, MachineSummary } from './summary.js';

export type RuntimeState = 'starting' | 'running' | 'stopping' | 'exited';

/** How long QEMU gets to exit after QMP `quit` before it is killed. */
const QUIT_GRACE_MS = 3_000;

export interface MachineRuntimeParts {
  options: ResolvedMachineOptions;
  layout: MachineLayout;
  log: MachineLog;
  accelerator: AcceleratorChoice;
  vsock: VsockChoice;
  transport: VsockTransport;
  ports: GuestPorts;
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
  state: RuntimeState = 'starting';
  ssh: SshSession | undefined;
  bootError: string | undefined;
  readyAfterMs: number | undefined;
  sshReadyAfterMs: number | undefined;

  #qemu: ManagedProcess | undefined;
  #qemuStartedAt: number | undefined;
  #vsockDaemon: ManagedProcess | undefined;
  #qmp: QmpClient | undefined;
  #listeners: VsockListener[] = [];
  #endedBy: MachineExit['endedBy'] | undefined;
  #nativeJournal: string | undefined;
  #exit: MachineExit | undefined;
  #finished: Promise<MachineExit> | undefined;

  constructor(private readonly parts: MachineRuntimeParts) {
    this.options = parts.options;
    this.layout = parts.layout;
    this.log = parts.log;
    this.journal = new MachineJournal(parts.layout.journalExport, parts.layout.journalNative);
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
    this.#listeners.push(
      await listenForNotifications(transport, this.parts.ports.notify, () => this.sinceQemuStart(), (message) => {
        appendFileSync(this.layout.notifyLog, formatNotifyLogLine(message));
        this.notify.push(message);
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

  /** @internal Records the vsock daemon, which must outlive QEMU and is stopped after it. */
  adoptVsockDaemon(daemon: ManagedProcess): void {
    this.#vsockDaemon = daemon;
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

  /** Powers the guest off, killing QEMU if it takes longer than `timeout`. */
  async shutdown(timeout = this.options.shutdownTimeout): Promise<MachineExit> {
    const qemu = this.#qemu;
    if (!qemu || this.state === 'exited' || this.state === 'stopping') return this.waitForExit();
    this.state = 'stopping';
    this.#endedBy ??= 'shutdown';
    this.log.info(`shutdown requested (timeout ${timeout} ms)`);
    // A guest without logind ignores the ACPI power button, so ask its system manager over SSH too.
    void this.ssh?.exec('systemctl poweroff --no-block', { reject: false, timeout: 5_000 }).catch(() => undefined);
    void this.#qmp?.execute('system_powerdown').catch(() => undefined);
    if (!(await settlesWithin(qemu.exited, timeout))) {
      this.log.info(`the guest did not power off within ${timeout} ms; quitting QEMU`);
      await this.#quitQemu(qemu);
    }
    return this.waitForExit();
  }

  /** Kills QEMU at once. */
  async kill(reason: MachineExit['endedBy']): Promise<MachineExit> {
    if (this.state !== 'exited') {
      this.state = 'stopping';
      this.#endedBy ??= reason;
      this.log.info(`killing QEMU (${reason})`);
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
      cpus: options.cpus,
      ramBytes: options.ramBytes,
      startedAt: this.startedAt.toISOString(),
      readyAfterMs: round(this.readyAfterMs),
      sshReadyAfterMs: round(this.sshReadyAfterMs),
      processes: { qemu: this.#qemu?.pid, vsockDaemon: this.#vsockDaemon?.pid },
      notifyMessages: this.notify.messages.length,
      journalEntries: this.journal.entries().length,
      journalSuppressed: this.journal.suppressed,
      nativeJournal: this.#nativeJournal,
      exit: this.#exit,
      error: this.bootError,
    };
  }

  async #quitQemu(qemu: ManagedProcess): Promise<void> {
    void this.#qmp?.execute('quit').catch(() => undefined);
    if (!(await settlesWithin(qemu.exited, QUIT_GRACE_MS))) qemu.kill('SIGKILL');
    await qemu.exited;
  }

  async #finish(qemuExit: { exitCode: number | undefined; signal: string | undefined }): Promise<MachineExit> {
    const endedBy = this.#endedBy ?? (this.state === 'starting' ? 'boot-failure' : 'guest');
    this.state = 'exited';
    this.log.info(`QEMU exited (${qemuExit.signal ? `signal ${qemuExit.signal}` : `code ${qemuExit.exitCode}`}); ended by ${endedBy}`);
    const exit: MachineExit = {
      exitStatus: this.notify.exitStatus,
      qemuExitCode: qemuExit.exitCode,
      qemuSignal: qemuExit.signal,
      endedBy,
    };
    await this.#releaseEverything();
    this.#exit = exit;
    await this.writeSummary();
    if (this.parts.ownsArtifactsDir && endedBy !== 'boot-failure') await rm(this.layout.artifactsDir, { recursive: true, force: true });
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
    // The listeners stay up until QEMU is gone: journald loses the message of a failed write.
    await Promise.all(this.#listeners.map((listener) => listener.close()));
    this.notify.end('the machine exited');
    if (this.options.forwardJournal) {
      await this.journal.close('the machine exited');
      const native = await this.journal.convert();
      this.#nativeJournal = native.written ? native.path : native.reason;
      this.log.info(native.written ? `native journal written: ${native.path}` : `no native journal: ${native.reason}`);
    }
    if (this.#vsockDaemon) await this.#vsockDaemon.terminate(1_000);
    await removeRuntimeDir(this.layout.runtimeDir);
  }

  async writeSummary(): Promise<void> {
    await writeFile(this.layout.summary, `${JSON.stringify(this.summary(), null, 2)}\n`).catch(() => undefined);
  }
}

function round(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value);
}
