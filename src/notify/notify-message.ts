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

/**
 * Whether the message shows the guest shutting down: the targets a running system keeps active
 * going inactive (multi-user, ssh-access, graphical), shutdown.target starting, or the final
 * `EXIT_STATUS=` / `X_SYSTEMD_SHUTDOWN=`.
 */
export function isShutdownSign(message: NotifyMessage): boolean {
  const deactivated = deactivatedUnitOf(message);
  return (
    (deactivated !== undefined && ['multi-user.target', 'ssh-access.target', 'graphical.target'].includes(deactivated)) ||
    activatedUnitOf(message) === 'shutdown.target' ||
    message.fields.X_SYSTEMD_SHUTDOWN !== undefined ||
    exitStatusOf(message) !== undefined
  );
}

/** One line of notify.log: time and the message with newlines shown as spaces. */
export function formatNotifyLogLine(message: NotifyMessage): string {
  return `${(message.time / 1000).toFixed(3).padStart(9)}s ${message.raw.replaceAll('\n', ' ')}\n`;
}
