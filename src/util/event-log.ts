/**
 * An append-only list of events that can be waited on: the shape shared by notify messages and
 * journal entries. Waiting looks at what already arrived first, then at what arrives next.
 */
import { WaitTimeoutError } from '../errors.js';

export interface WaitOptions {
  /**
   * How long to wait, in milliseconds.
   * @default no limit (bounded by the test's own timeout)
   */
  timeout?: number;
  /** Stops waiting when aborted. */
  signal?: AbortSignal;
}

interface Waiter<T> {
  matches: (event: T) => boolean;
  settle: (outcome: { event: T } | { error: Error }) => void;
  describe: () => string;
}

export class EventLog<T> {
  readonly #events: T[] = [];
  readonly #listeners = new Set<(event: T) => void>();
  readonly #waiters = new Set<Waiter<T>>();
  #endReason: string | undefined;

  /** Every event so far, oldest first. */
  get events(): readonly T[] {
    return this.#events;
  }

  push(event: T): void {
    this.#events.push(event);
    for (const waiter of [...this.#waiters]) if (waiter.matches(event)) waiter.settle({ event });
    for (const listener of [...this.#listeners]) listener(event);
  }

  /** Calls `listener` for each event from now on; returns a function that unsubscribes. */
  subscribe(listener: (event: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** No more events will come (for example the machine stopped): pending and later waits fail. */
  end(reason: string): void {
    this.#endReason ??= reason;
    for (const waiter of [...this.#waiters]) waiter.settle({ error: this.#ended(waiter.describe) });
  }

  /**
   * Resolves with the first event, already received or still to come, for which `matches` holds.
   * @param describe what is awaited, for error messages
   */
  waitFor(matches: (event: T) => boolean, describe: () => string, options: WaitOptions = {}): Promise<T> {
    const found = this.#events.find(matches);
    if (found !== undefined) return Promise.resolve(found);
    if (this.#endReason !== undefined) return Promise.reject(this.#ended(describe));
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal, describe));

    return new Promise<T>((resolve, reject) => {
      const onAbort = () => waiter.settle({ error: abortError(options.signal, describe) });
      const timer =
        options.timeout === undefined
          ? undefined
          : setTimeout(
              () => waiter.settle({ error: new WaitTimeoutError(`Timed out after ${options.timeout} ms waiting for ${describe()}`) }),
              options.timeout,
            );
      const waiter: Waiter<T> = {
        matches,
        describe,
        settle: (outcome) => {
          this.#waiters.delete(waiter);
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          if ('error' in outcome) reject(outcome.error);
          else resolve(outcome.event);
        },
      };
      this.#waiters.add(waiter);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #ended(describe: () => string): WaitTimeoutError {
    return new WaitTimeoutError(`Stopped waiting for ${describe()}: ${this.#endReason}`);
  }
}

function abortError(signal: AbortSignal | undefined, describe: () => string): Error {
  return signal?.reason instanceof Error ? signal.reason : new Error(`Aborted while waiting for ${describe()}`);
}
