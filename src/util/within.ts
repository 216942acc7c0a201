import { WaitTimeoutError } from '../errors.js';
import type { WaitOptions } from './event-log.js';

/**
 * `promise`, or a WaitTimeoutError after `options.timeout`, or the abort reason when `options.signal`
 * aborts; timer and listener are removed either way.
 */
export async function within<T>(promise: Promise<T>, options: WaitOptions, describe: () => string): Promise<T> {
  if (options.timeout === undefined && !options.signal) return promise;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (options.timeout !== undefined) {
      timer = setTimeout(() => reject(new WaitTimeoutError(`Timed out after ${options.timeout} ms waiting for ${describe()}`)), options.timeout);
    }
    onAbort = () => reject(options.signal?.reason instanceof Error ? options.signal.reason : new Error(`Aborted while waiting for ${describe()}`));
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Whether `promise` settles within `ms` milliseconds; the timer is cleared either way. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
