/**
 * Machines a worker keeps between test files for `useVm(options, { reuse: 'worker' })`: an idle
 * machine is handed to the next scope that asks for the same key, after that scope's reset; all
 * are ended when the worker ends. Kept on `globalThis`, so a test file's modules evaluated again
 * (vitest's `isolate: false`) still find them.
 */

interface PoolEntry<T> {
  key: string;
  value: T;
  busy: boolean;
}

export class ReusePool<T> {
  readonly #entries: PoolEntry<T>[] = [];

  /** An idle value of `key`, now busy; undefined when there is none. */
  take(key: string): T | undefined {
    const entry = this.#entries.find((candidate) => candidate.key === key && !candidate.busy);
    if (!entry) return undefined;
    entry.busy = true;
    return entry.value;
  }

  /** Adds a freshly started value, busy. */
  add(key: string, value: T): void {
    this.#entries.push({ key, value, busy: true });
  }

  /** Whether `value` belongs to the pool. */
  holds(value: T): boolean {
    return this.#entries.some((entry) => entry.value === value);
  }

  /** Marks `value` idle, for the next scope that asks for its key. */
  giveBack(value: T): void {
    const entry = this.#entries.find((candidate) => candidate.value === value);
    if (entry) entry.busy = false;
  }

  /** Takes `value` out of the pool (to be ended by the caller). */
  remove(value: T): void {
    const index = this.#entries.findIndex((entry) => entry.value === value);
    if (index >= 0) this.#entries.splice(index, 1);
  }

  /** Empties the pool and returns what it held. */
  drain(): T[] {
    return this.#entries.splice(0).map((entry) => entry.value);
  }

  get size(): number {
    return this.#entries.length;
  }
}

/** Takes an idle value of `key` and resets it, or starts one; a value whose reset fails is ended and replaced. */
export async function acquireReusable<T>(
  pool: ReusePool<T>,
  key: string,
  parts: { start(): Promise<T>; reset(value: T): Promise<void>; end(value: T, resetError: unknown): Promise<void> },
): Promise<T> {
  const idle = pool.take(key);
  if (idle !== undefined) {
    try {
      await parts.reset(idle);
      return idle;
    } catch (error) {
      pool.remove(idle);
      await parts.end(idle, error);
    }
  }
  const value = await parts.start();
  pool.add(key, value);
  return value;
}
