/** The options every wait of the machine handle takes, checked before anything waits. */
import { InvalidOptionsError } from '../../errors.js';
import type { WaitOptions } from '../../util/event-log.js';

/** How long a wait of the machine handle waits unless told otherwise. */
export const DEFAULT_WAIT_TIMEOUT_MS = 60_000;

export interface GuestWaitOptions extends WaitOptions {
  /**
   * How long to wait, in milliseconds.
   * @default 60_000 (60 s)
   */
  timeout?: number;
  /** Stops waiting when aborted; the wait rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ResolvedWaitOptions {
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** Fills in the default timeout; throws an error naming the option when it is not a positive number. */
export function resolveWaitOptions(method: string, options: GuestWaitOptions | undefined): ResolvedWaitOptions {
  const timeout = options?.timeout ?? DEFAULT_WAIT_TIMEOUT_MS;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new InvalidOptionsError(
      [{ option: 'timeout', message: `expected a positive number of milliseconds, got ${JSON.stringify(timeout)}` }],
      `${method} options`,
    );
  }
  if (options?.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidOptionsError([{ option: 'signal', message: 'expected an AbortSignal' }], `${method} options`);
  }
  return { timeoutMs: timeout, signal: options?.signal };
}
