/**
 * The loop under every wait of the machine handle: check, and if the condition does not hold yet,
 * pause on the backoff schedule or until an event makes a new check worthwhile. The wait ends at
 * once when it times out, when its signal aborts, or when the machine ends, each with an error that
 * says what the last check saw.
 */
import { ExecConnectionLostError, MachineEndedError, MachineStateError } from '../../errors.js';
import { settlesWithin } from '../../util/within.js';
import type { MachineExit } from '../summary.js';
import { pollDelay } from './backoff.js';
import { MachineEndedWhileWaitingError, MachineWaitTimeoutError } from './wait-errors.js';
import type { ResolvedWaitOptions } from './wait-options.js';

/** What one check found: the awaited value, or a description of what it saw instead. */
export type CheckOutcome<T> = { done: true; value: T } | { done: false; observed: string };

export interface WaitPlan {
  /** What is awaited, for messages: `app.service to be active`. */
  waitingFor: string;
  options: ResolvedWaitOptions;
  /** Resolves when the machine has ended. */
  ended: Promise<MachineExit>;
  /** Subscribes to events after which a check is worth doing at once; returns a function that unsubscribes. */
  nudges?: (nudge: () => void) => () => void;
  /**
   * Whether to check again on the backoff schedule without a nudge; without, only nudges bring the
   * next check (for conditions only events can change).
   * @default true
   */
  poll?: boolean;
}

/** Checks until `check` reports done, and resolves with its value. A check is handed a signal that aborts when the wait ends. */
export async function waitUntil<T>(check: (signal: AbortSignal) => Promise<CheckOutcome<T>>, plan: WaitPlan): Promise<T> {
  const { waitingFor, options } = plan;
  const startedAt = Date.now();
  const stop = new AbortController();
  let lastObserved: string | undefined;
  let checks = 0;
  let fail: (error: Error) => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => {
    fail = (error) => {
      if (stop.signal.aborted) return;
      stop.abort(error);
      reject(error);
    };
  });
  stopped.catch(() => undefined);

  const timer = setTimeout(() => fail(new MachineWaitTimeoutError(waitingFor, options.timeoutMs, lastObserved, checks)), options.timeoutMs);
  const onAbort = () => fail(abortError(options.signal, waitingFor, lastObserved));
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  void plan.ended.then((exit) => fail(new MachineEndedWhileWaitingError(waitingFor, `the machine ended (${exit.reason})`, lastObserved, exit)));

  let nudged = false;
  let wake: (() => void) | undefined;
  let pauseTimer: NodeJS.Timeout | undefined;
  const unsubscribe = plan.nudges?.(() => {
    nudged = true;
    wake?.();
  });
  try {
    for (let attempt = 1; ; attempt++) {
      nudged = false;
      const outcome = await Promise.race([guarded(check, stop.signal, plan, () => lastObserved), stopped]);
      checks++;
      if (outcome.done) return outcome.value;
      lastObserved = outcome.observed;
      if (nudged) continue; // an event arrived while the check ran
      const remaining = options.timeoutMs - (Date.now() - startedAt);
      await Promise.race([
        new Promise<void>((resolve) => {
          wake = resolve;
          if (plan.poll !== false) pauseTimer = setTimeout(resolve, pollDelay(attempt, remaining));
        }),
        stopped,
      ]);
      clearTimeout(pauseTimer);
      wake = undefined;
    }
  } catch (error) {
    // A check cut short by the end of the wait fails for that reason, not its own.
    throw stop.signal.aborted ? stop.signal.reason : error;
  } finally {
    clearTimeout(timer);
    clearTimeout(pauseTimer);
    options.signal?.removeEventListener('abort', onAbort);
    unsubscribe?.();
    stop.abort();
  }
}

/**
 * How long a check that found the machine going away (stopping, or the guest shut down under it)
 * waits for QEMU to exit, so that the error can say how the machine ended.
 */
const GOING_AWAY_GRACE_MS = 5_000;

/**
 * Runs one check: a lost SSH connection (sshd restarted) is something seen, and the next check
 * connects again; a machine that is going away ends the wait.
 */
async function guarded<T>(
  check: (signal: AbortSignal) => Promise<CheckOutcome<T>>,
  signal: AbortSignal,
  plan: WaitPlan,
  lastObserved: () => string | undefined,
): Promise<CheckOutcome<T>> {
  const { waitingFor } = plan;
  try {
    return await check(signal);
  } catch (error) {
    if (signal.aborted) throw error;
    if (error instanceof ExecConnectionLostError && error.reason === 'connection-lost') {
      return { done: false, observed: 'the SSH connection to the guest was lost during a check (was sshd restarted?)' };
    }
    // Once QEMU exits, the wait ends with how the machine ended (the race in waitUntil).
    if (error instanceof ExecConnectionLostError || error instanceof MachineStateError) await settlesWithin(plan.ended, GOING_AWAY_GRACE_MS);
    if (error instanceof ExecConnectionLostError) {
      throw new MachineEndedWhileWaitingError(waitingFor, 'the guest shut down', lastObserved(), undefined, { cause: error });
    }
    if (error instanceof MachineEndedError) {
      throw new MachineEndedWhileWaitingError(waitingFor, `the machine ended (${error.exit.reason})`, lastObserved(), error.exit, { cause: error });
    }
    if (error instanceof MachineStateError && !(error instanceof MachineEndedWhileWaitingError)) {
      throw new MachineEndedWhileWaitingError(waitingFor, error.message.replace(/\.$/, ''), lastObserved(), undefined, { cause: error });
    }
    throw error;
  }
}

function abortError(signal: AbortSignal | undefined, waitingFor: string, lastObserved: string | undefined): Error {
  if (signal?.reason instanceof Error) return signal.reason;
  const seen = lastObserved === undefined ? '' : ` Last observed: ${lastObserved}`;
  return new Error(`Aborted while waiting for ${waitingFor}.${seen}`);
}
