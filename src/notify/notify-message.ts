/**
 * sd_notify messages as the guest's system manager sends them to `vmm.notify_socket`: newline
 * separated `KEY=VALUE` assignments, one message per connection (see sd_notify(3)).
 */

export interface NotifyMessage {
  /** Milliseconds since QEMU was started. */
  readonly time: number;
  /** The assignments, in order. A key sent twice keeps its last value here. */
  readonly fields: Readonly<Record<string, string>>;
  /** The message as received. */
  readonly raw: string;
}

/** Parses the text of one notify message into its assignments; lines without `=` are ignored. */
export function parseNotifyFields(raw: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of raw.split('\n')) {
    const separator = line.indexOf('=');
    if (separator <= 0) continue;
    fields[line.slice(0, separator)] = line.slice(separator + 1);
  }
  return fields;
}

/** `READY=1`: the guest finished booting. */
export function isReady(message: NotifyMessage): boolean {
  return message.fields.READY === '1';
}

/** `EXIT_STATUS=N`, sent on shutdown (`systemctl exit N` sets it). */
export function exitStatusOf(message: NotifyMessage): number | undefined {
  const value = message.fields.EXIT_STATUS;
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** The unit named by `X_SYSTEMD_UNIT_ACTIVE=` (systemd ≥ 256 reports targets reaching active). */
export function activatedUnitOf(message: NotifyMessage): string | undefined {
  return message.fields.X_SYSTEMD_UNIT_ACTIVE;
}

/** The unit named by `X_SYSTEMD_UNIT_INACTIVE=`. */
export function deactivatedUnitOf(message: NotifyMessage): string | undefined {
  return message.fields.X_SYSTEMD_UNIT_INACTIVE;
}

/** One line of notify.log: time and the message with newlines shown as spaces. */
export function formatNotifyLogLine(message: NotifyMessage): string {
  return `${(message.time / 1000).toFixed(3).padStart(9)}s ${message.raw.replaceAll('\n', ' ')}\n`;
}

/** Targets whose activation means the guest is going down. */
const SHUTDOWN_TARGETS = new Set(['shutdown.target', 'final.target', 'poweroff.target', 'reboot.target', 'halt.target', 'kexec.target', 'exit.target']);

/**
 * Whether the message says the guest's system manager is shutting down: `STOPPING=1`,
 * `X_SYSTEMD_SHUTDOWN=`, `EXIT_STATUS=`, or a shutdown target reaching active.
 */
export function isShutdownSign(message: NotifyMessage): boolean {
  const { fields } = message;
  if (fields.STOPPING === '1' || fields.X_SYSTEMD_SHUTDOWN !== undefined || exitStatusOf(message) !== undefined) return true;
  const activated = activatedUnitOf(message);
  return activated !== undefined && SHUTDOWN_TARGETS.has(activated);
}

/** Targets a running system keeps active; one going inactive is the first sign of a shutdown. */
const RUNNING_TARGETS = new Set(['multi-user.target', 'graphical.target', 'ssh-access.target']);

/**
 * Whether the message shows the guest leaving its running state: a target it keeps active going
 * inactive, or any {@link isShutdownSign}. These come before the shutdown signs (systemd 257 sent
 * `X_SYSTEMD_UNIT_INACTIVE=multi-user.target` 0.1 s after `systemctl poweroff`, shutdown.target
 * 2.6 s later), but also with `systemctl isolate rescue.target`: good for telling why sshd went
 * away, not for deciding that the machine is stopping.
 */
export function isGoingDownSign(message: NotifyMessage): boolean {
  const deactivated = deactivatedUnitOf(message);
  return isShutdownSign(message) || (deactivated !== undefined && RUNNING_TARGETS.has(deactivated));
}
