/**
 * How a shared machine's shutdown fits into the vitest hook that runs it: the guest gets what
 * the hook timeout leaves after QEMU's quit and the writing of the artifacts, at most its own
 * `shutdownTimeout`; QEMU is killed when the hook is about to time out.
 */

/** What a shutdown needs after the guest's power-off wait: QEMU's quit grace (3 s) and writing the artifacts. */
export const TEARDOWN_RESERVE_MS = 5_000;
/** What is left between the kill and the hook's timeout, to write the artifacts of a killed machine. */
export const KILL_MARGIN_MS = 1_500;
/** The shortest power-off wait given: a guest is always asked, even under a tight hook. */
export const MIN_POWER_OFF_WAIT_MS = 1_000;

export interface TeardownBudget {
  /** Milliseconds the guest gets to power off before QEMU is quit. */
  powerOffWaitMs: number;
  /** Milliseconds after which QEMU is killed if the shutdown has not finished; undefined for no limit. */
  killAfterMs: number | undefined;
}

/** `hookTimeout` of 0 (or less) means vitest sets no limit. */
export function planTeardown(hookTimeout: number, shutdownTimeout: number): TeardownBudget {
  if (!(hookTimeout > 0) || !Number.isFinite(hookTimeout)) return { powerOffWaitMs: shutdownTimeout, killAfterMs: undefined };
  const powerOffWaitMs = Math.min(shutdownTimeout, Math.max(MIN_POWER_OFF_WAIT_MS, hookTimeout - TEARDOWN_RESERVE_MS));
  return { powerOffWaitMs, killAfterMs: Math.max(0, hookTimeout - KILL_MARGIN_MS) };
}
