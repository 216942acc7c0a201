/**
 * How a machine ended, told from what the engine did, what QEMU reported and what the guest said:
 * `endedBy` and a one-sentence `reason` for summary.json, `waitForExit()` and error messages.
 */
import type { NotifyEvents } from '../notify/notify-events.js';
import { isShutdownSign } from '../notify/notify-message.js';
import type { MachineLayout } from '../plan/machine-layout.js';
import { readTail } from '../util/read-tail.js';
import type { MachineExit } from './summary.js';

export interface QemuExit {
  exitCode: number | undefined;
  signal: string | undefined;
}

export interface ExitFacts {
  /** Set when the engine ended the machine (shutdown(), kill(), a failed boot, an abandoned run). */
  endedBy: MachineExit['endedBy'] | undefined;
  /** The engine's own words for it, when it has some. */
  endReason: string | undefined;
  /** Whether the machine was still booting. */
  booting: boolean;
  notify: NotifyEvents;
  bootError: string | undefined;
  /** Where QEMU's log and the console log are, read to explain a crash. */
  layout: MachineLayout;
  qemuExit: QemuExit;
}

export async function describeExit(facts: ExitFacts): Promise<MachineExit> {
  const { notify, qemuExit } = facts;
  const exitStatus = notify.exitStatus;
  const guestShutDown = notify.messages.some(isShutdownSign);
  const endedBy =
    facts.endedBy ??
    (facts.booting ? 'boot-failure' : guestShutDown || (notify.messages.length === 0 && qemuExit.exitCode === 0) ? 'guest' : 'crashed');
  const withStatus = exitStatus === undefined ? '' : `, EXIT_STATUS=${exitStatus}`;
  let reason = facts.endReason;
  if (reason === undefined) {
    switch (endedBy) {
      case 'guest': {
        const how = notify.messages.findLast((message) => message.fields.X_SYSTEMD_SHUTDOWN !== undefined)?.fields.X_SYSTEMD_SHUTDOWN;
        reason = `the guest shut down by itself${how ? ` (${how})` : ''}${withStatus}`;
        break;
      }
      case 'shutdown':
        reason = `shut down by shutdown()${withStatus}`;
        break;
      case 'killed':
        reason = 'killed with kill()';
        break;
      case 'boot-failure':
        reason = `the boot failed: ${facts.bootError ?? 'QEMU exited'}`;
        break;
      default:
        reason = await describeCrash(qemuExit, facts.layout);
    }
  }
  return { exitStatus, qemuExitCode: qemuExit.exitCode, qemuSignal: qemuExit.signal, endedBy, reason };
}

async function describeCrash(qemuExit: QemuExit, layout: MachineLayout): Promise<string> {
  const notShutDown = 'the guest did not shut down';
  if (qemuExit.signal) return `QEMU was killed by ${qemuExit.signal}, not by the engine; ${notShutDown}`;
  // QEMU prints "terminating on signal 15 from pid 1234 (kill)" when a signal ends it.
  const terminated = /terminating on signal \d+[^\n]*/.exec(await readTail(layout.qemuLog, 20))?.[0];
  if (terminated) return `QEMU exited (${terminated}); ${notShutDown}`;
  const panic = /Kernel panic - not syncing: [^\n]*/.exec(await readTail(layout.consoleLog, 60))?.[0];
  if (panic) return `the guest kernel panicked (${panic.trim()}); QEMU exited`;
  return `QEMU exited with code ${qemuExit.exitCode} while the guest was running; ${notShutDown} (see qemu.log and console.log)`;
}
