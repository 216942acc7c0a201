/**
 * What summary.json in the artifacts holds: how the machine was run, how long it took to become
 * ready, and how it ended.
 */
import type { JournalSuppression } from '../journal/suppressed-messages.js';
import type { BootPath } from '../plan/boot-plan.js';

/** How a machine ended. */
export interface MachineExit {
  /** The guest's `EXIT_STATUS` (0 for a plain power-off, N after `systemctl exit N`); undefined if none arrived. */
  exitStatus: number | undefined;
  /** QEMU's own exit code (0 after a guest power-off). */
  qemuExitCode: number | undefined;
  /** Signal that ended QEMU, if it was killed. */
  qemuSignal: string | undefined;
  /**
   * Who ended it:
   * - `'guest'`: the guest powered off, rebooted or exited by itself;
   * - `'shutdown'`: `shutdown()` or `stop()`;
   * - `'killed'`: `kill()`;
   * - `'boot-failure'`: `start()` failed;
   * - `'crashed'`: QEMU ended while the guest was not shutting down (killed from outside, a QEMU
   *   error, a kernel panic);
   * - `'abandoned'`: the process running the machine was interrupted or killed (the test run was
   *   stopped) before it shut the machine down.
   */
  endedBy: 'guest' | 'shutdown' | 'killed' | 'boot-failure' | 'crashed' | 'abandoned';
  /** How it ended, in one sentence (e.g. "QEMU was killed by SIGKILL, not by the engine; the guest did not shut down"). */
  reason: string;
}

export interface MachineSummary {
  name: string;
  uuid: string;
  accelerator: 'kvm' | 'tcg';
  acceleratorReason: string;
  /** Which vsock transport, and why. */
  vsock: string;
  /** The guest's vsock CID (under kernel vsock, the one QEMU started with after any CID clash). */
  vsockCid: number | undefined;
  /** How the guest booted: the path (see the README), the QEMU machine type, and the UEFI firmware's descriptor. */
  boot: { path: BootPath; machine: 'pc' | 'q35'; firmware: string | undefined; secureBoot: boolean };
  cpus: number;
  ramBytes: number;
  startedAt: string;
  /** Milliseconds from QEMU's start to `READY=1`. */
  readyAfterMs: number | undefined;
  /** Milliseconds from QEMU's start to the first completed SSH handshake. */
  sshReadyAfterMs: number | undefined;
  /** PIDs of QEMU and of each helper daemon by name, e.g. `vhost-device-vsock` (gone once the machine exited). */
  processes: { qemu: number | undefined; [helper: string]: number | undefined };
  /** How many notify messages arrived; `'unavailable: no vsock'` on a machine without vsock. */
  notifyMessages: number | string;
  journalEntries: number;
  /** Messages the guest's journald reported as dropped by its rate limit. */
  journalSuppressed: JournalSuppression;
  /** Native journal file, or why there is none. */
  nativeJournal: string | undefined;
  exit: MachineExit | undefined;
  /** The boot error, when start() failed. */
  error: string | undefined;
}
