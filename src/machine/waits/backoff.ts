/**
 * How long a polling wait pauses between two checks: short at first, so a condition that holds
 * soon is seen soon, then longer, so a slow one does not keep the guest busy answering.
 */

export interface BackoffSchedule {
  /** Pause after the first check, in milliseconds. */
  initialMs: number;
  /** Each pause is the previous one times this. */
  factor: number;
  /** No pause is longer than this. */
  maxMs: number;
}

/**
 * The schedule of the machine's waits: 100 ms, 200 ms, 400 ms, 800 ms, then every second. A check
 * over SSH costs about 70 ms, so a long wait keeps the guest's CPU less than a tenth busy.
 */
export const POLL_BACKOFF: BackoffSchedule = { initialMs: 100, factor: 2, maxMs: 1_000 };

/** The pause after check number `attempt` (1 for the first), never past the time that is left. */
export function pollDelay(attempt: number, remainingMs = Number.POSITIVE_INFINITY, schedule: BackoffSchedule = POLL_BACKOFF): number {
  const growth = schedule.initialMs * schedule.factor ** Math.max(0, attempt - 1);
  return Math.max(0, Math.min(growth, schedule.maxMs, remainingMs));
}
