/**
 * Lifting the guest journald's rate limit from its first start, on any image with systemd ≥ 256,
 * through two credentials and nothing baked into the image:
 *
 * 1. {@link RATE_LIMIT_TMPFILES_CREDENTIAL} holds one tmpfiles.d line that writes
 *    `/run/systemd/journald.conf.d/zz-vitest-vmspawn-rate-limit.conf` (`RateLimitIntervalSec=0`,
 *    `RateLimitBurst=0`).
 * 2. `systemd.unit-dropin.systemd-journald.service~…` becomes a drop-in of journald's unit
 *    (systemd-debug-generator writes it before any unit starts, in an initrd too) whose
 *    `ExecStartPre=` applies that line with `systemd-tmpfiles`, so the file exists before journald
 *    reads its configuration, at every start of journald.
 */

/** Where journald reads drop-ins; `zz-` sorts after an image's own numbered ones, so ours wins. */
export const RATE_LIMIT_CONFIG_PATH = '/run/systemd/journald.conf.d/zz-vitest-vmspawn-rate-limit.conf';

/** journald.conf(5): an interval or a burst of 0 turns rate limiting off. */
export const RATE_LIMIT_CONFIG = '[Journal]\nRateLimitIntervalSec=0\nRateLimitBurst=0\n';

/** The credential with the tmpfiles.d line; PID 1 puts system credentials in this directory. */
export const RATE_LIMIT_TMPFILES_CREDENTIAL = 'vitest-vmspawn.journald-rate-limit';
const SYSTEM_CREDENTIALS_DIR = '/run/credentials/@system';

/** The credential systemd-debug-generator turns into a drop-in named `vitest-vmspawn-rate-limit.conf`. */
export const RATE_LIMIT_DROPIN_CREDENTIAL = 'systemd.unit-dropin.systemd-journald.service~vitest-vmspawn-rate-limit';

/** The credentials that lift the limit, by name. */
export function journaldRateLimitCredentials(): Record<string, string> {
  return {
    [RATE_LIMIT_TMPFILES_CREDENTIAL]: rateLimitTmpfilesLine(),
    [RATE_LIMIT_DROPIN_CREDENTIAL]: journaldDropIn(),
  };
}

/** `f+` rewrites the file at every start of journald; `~` says the content is base64 (no escaping). */
export function rateLimitTmpfilesLine(): string {
  return `f+~ ${RATE_LIMIT_CONFIG_PATH} 0644 root root - ${Buffer.from(RATE_LIMIT_CONFIG).toString('base64')}\n`;
}

/**
 * `-`: a failure (no systemd-tmpfiles in a minimal initrd) never keeps journald from starting; the
 * limit then stays, and its drops are still counted. `+`: runs outside journald's sandbox.
 */
export function journaldDropIn(): string {
  return `[Service]\nExecStartPre=-+systemd-tmpfiles --create ${SYSTEM_CREDENTIALS_DIR}/${RATE_LIMIT_TMPFILES_CREDENTIAL}\n`;
}
