/**
 * The life of one shared machine, without the machine: started once, on the first use, by
 * whichever user comes first (a start that fails fails every user with the same error, and is not
 * tried again); ended once, as soon as every planned user has finished, or when its scope ends,
 * whichever comes first.
 */
import { VmspawnError } from '../../errors.js';

/** A shared machine asked for after it was shut down (by a hook that runs after its last test). */
export class SharedMachineEndedError extends VmspawnError {
  override name = 'SharedMachineEndedError';
}

export interface SharedLifetimeHooks<T> {
  /** Starts the shared value; called at most once. */
  start(): Promise<T>;
  /** Ends it: the started value, or undefined when the start failed. Called at most once, and only after a start. */
  end(value: T | undefined): Promise<void>;
}

export class SharedLifetime<T> {
  #started: Promise<T> | undefined;
  #plannedUsers: number | undefined;
  #finishedUsers = 0;
  #ending: Promise<void> | undefined;

  constructor(
    private readonly hooks: SharedLifetimeHooks<T>,
    /** Names the shared thing in the error for a use after its end. */
    private readonly description: string,
  ) {}

  /** Whether the start was asked for (it may still run, or have failed). */
  get started(): boolean {
    return this.#started !== undefined;
  }

  get ended(): boolean {
    return this.#ending !== undefined;
  }

  /** The shared value, started on the first call. */
  acquire(): Promise<T> {
    if (this.#ending) {
      return Promise.reject(
        new SharedMachineEndedError(
          `${this.description} was already shut down after its last test; use it only in its own tests and in hooks of its describe that run before them`,
        ),
      );
    }
    this.#started ??= this.hooks.start();
    return this.#started;
  }

  /**
   * How many users will run (known once vitest has applied .only, .skip and filters). When they
   * have all finished, the value ends without waiting for the scope to end.
   */
  planUsers(count: number): void {
    this.#plannedUsers = count;
    this.#endIfAllFinished();
  }

  /** A planned user is done with it for good (its last attempt ended). */
  release(): void {
    this.#finishedUsers += 1;
    this.#endIfAllFinished();
  }

  /** Ends it now, or waits for the end already under way. Safe to call more than once. */
  end(): Promise<void> {
    this.#ending ??= this.#end();
    return this.#ending;
  }

  #endIfAllFinished(): void {
    if (this.#plannedUsers !== undefined && this.#started && this.#finishedUsers >= this.#plannedUsers) void this.end();
  }

  async #end(): Promise<void> {
    if (!this.#started) return;
    let value: T | undefined;
    try {
      value = await this.#started;
    } catch {
      value = undefined;
    }
    await this.hooks.end(value);
  }
}

/** vitest's retry setting: a count, or an object with one. */
export type RetrySetting = number | { count?: number } | undefined;

export interface AttemptState {
  state: string | undefined;
  retryCount: number;
  repeatCount: number;
}

/** Whether the attempt that just ended is a test's last: vitest neither retries nor repeats it. */
export function isLastAttempt(attempt: AttemptState, retry: RetrySetting, repeats: number | undefined): boolean {
  const retries = typeof retry === 'number' ? retry : (retry?.count ?? 0);
  if (attempt.state === 'fail' && attempt.retryCount < retries) return false;
  return attempt.repeatCount >= (repeats ?? 0);
}
