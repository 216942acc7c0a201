/**
 * Asks a running guest to power off, both ways it may listen: its system manager over SSH
 * (`systemctl poweroff`; a guest without logind ignores the ACPI power button) and the ACPI power
 * button through QMP. Resolves whether the guest heard: SSH accepted the request, or the system
 * manager said it is shutting down.
 */
import type { NotifyEvents } from '../notify/notify-events.js';
import { isShutdownSign } from '../notify/notify-message.js';
import type { QmpClient } from '../process/qmp-client.js';
import type { SshSession } from '../ssh/ssh-session.js';

export interface PowerOffChannels {
  ssh: SshSession | undefined;
  qmp: QmpClient | undefined;
  notify: NotifyEvents;
}

/** Sends the requests; `heard` settles true once the guest heard one (never false before `stop()`), `stop()` ends the listening. */
export function requestPowerOff({ ssh, qmp, notify }: PowerOffChannels): { heard: Promise<boolean>; stop: () => void } {
  const open = ssh && !ssh.closed ? ssh : undefined;
  const askedOverSsh = open
    ? open.exec('systemctl poweroff --no-block', { reject: false, timeout: 5_000 }).then(
        (result) => {
          // Hang up before systemd stops sshd: a connection it has to kill makes sshd log
          // "mm_reap: preauth child terminated by signal 15" at error priority.
          open.close();
          return result.exitCode === 0;
        },
        () => false,
      )
    : Promise.resolve(false);
  void qmp?.execute('system_powerdown').catch(() => undefined);
  const stopWaiting = new AbortController();
  const heard = Promise.race([
    askedOverSsh.then((asked) => (asked ? true : new Promise<never>(() => undefined))),
    // Without vsock no message comes: only SSH can say that the guest heard.
    notify.unavailable
      ? new Promise<never>(() => undefined)
      : notify.waitFor(isShutdownSign, { signal: stopWaiting.signal, description: 'a shutdown message' }).then(() => true),
  ]).catch(() => false);
  return { heard, stop: () => stopWaiting.abort() };
}
