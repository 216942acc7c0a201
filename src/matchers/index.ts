/**
 * The matchers of vitest-vmspawn, for `expect.extend`. The plugin registers them in every test file;
 * without the plugin: `import { vmspawnMatchers } from 'vitest-vmspawn/matchers'; expect.extend(vmspawnMatchers);`.
 *
 * ```ts
 * expect(vm.journal).toContainEntry({ unit: 'ssh.service', message: /Accepted/ });
 * expect(vm.journal).toHaveNoEntries({ priority: 'err' });
 * await expect(vm).toHaveUnitActive('dbus.service');
 * expect(await vm.exec('true', { reject: false })).toSucceed();
 * ```
 */
import type { JournalMatch } from '../journal/journal-entry.js';
import { toExitWith, toSucceed } from './exec-matchers.js';
import { toContainEntry, toHaveNoEntries } from './journal-matchers.js';
import type { NoEntriesOptions } from './match-options.js';
import { toHaveNoFailedUnits, toHaveUnitActive } from './unit-matchers.js';

export type { JournalSource } from './journal-source.js';
export type { NoEntriesOptions } from './match-options.js';

/** The state vitest gives a matcher: only whether it runs negated (`.not`) is used. */
interface MatcherContext {
  isNot: boolean;
}

/** The matchers, for `expect.extend(vmspawnMatchers)`. */
export const vmspawnMatchers = {
  toContainEntry(received: unknown, match: JournalMatch) {
    return toContainEntry(received, match);
  },
  toHaveNoEntries(received: unknown, options: NoEntriesOptions) {
    return toHaveNoEntries(received, options);
  },
  toHaveUnitActive(this: MatcherContext, received: unknown, unit: string) {
    return toHaveUnitActive(received, unit, this.isNot);
  },
  toHaveNoFailedUnits(received: unknown) {
    return toHaveNoFailedUnits(received);
  },
  toSucceed(received: unknown) {
    return toSucceed(received);
  },
  toExitWith(received: unknown, status: number) {
    return toExitWith(received, status);
  },
};

/** The matchers as `expect(…)` offers them; vitest's `Matchers` interface extends this. */
export interface VmspawnMatchers<R = unknown> {
  /**
   * The journal (`vm.journal`, the vm, or an array of entries) has an entry matching every given
   * criterion. On failure, shows the last entries of the same unit or identifier.
   */
  toContainEntry(match: JournalMatch): R;
  /**
   * The journal has no entry matching (e.g. `{ priority: 'err' }`: err or more severe), except those
   * matching an entry of `allow`. On failure, lists the offending entries.
   */
  toHaveNoEntries(options: NoEntriesOptions): R;
  /** The unit is active in the guest (`systemctl is-active`); await it. On failure, shows its status and last journal lines. */
  toHaveUnitActive(unit: string): Promise<R>;
  /** systemctl lists no failed unit; await it. On failure, shows each failed unit's status and last journal lines. */
  toHaveNoFailedUnits(): Promise<R>;
  /** The exec result (`vm.exec(cmd, { reject: false })`) exited with status 0. */
  toSucceed(): R;
  /** The exec result exited with this status. */
  toExitWith(status: number): R;
}

declare global {
  // vitest's Matchers interface has one type parameter in vitest 4 and two in vitest 5, and an
  // augmentation must repeat them exactly; both build their Assertion from Chai.Assertion's methods,
  // which has none, so the matchers are declared there once for both.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Chai {
    interface Assertion extends VmspawnMatchers<void> {}
  }
}
