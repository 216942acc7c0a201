/**
 * The matchers' types, pinned: `tsc -p tsconfig.check.json` fails when a documented use stops
 * compiling or a misuse compiles. The calls are declared, never run.
 */
import { expect, expectTypeOf, test } from 'vitest';
import { vmspawnMatchers, type ExecResult, type JournalEntry, type MachineJournal, type NoEntriesOptions, type StartedMachine } from '../../src/index.js';

test('the matchers are typed on expect() as a user of vitest-vmspawn writes them', () => {
  const declare = (use: () => unknown) => void use;
  declare(async () => {
    const vm = {} as StartedMachine;
    const journal = {} as MachineJournal;
    const entries = [] as JournalEntry[];
    const result = {} as ExecResult;

    expect(journal).toContainEntry({ unit: 'ssh.service', identifier: 'sshd', priority: 'err', message: /Accepted/ });
    expect(vm).not.toContainEntry({ message: 'panic', fields: { _TRANSPORT: 'kernel' } });
    expect(entries).toContainEntry({ priority: 3 });
    expect(vm.journal).toHaveNoEntries({ priority: 'err', allow: [{ identifier: 'kernel', message: /MMCONFIG/ }] });
    await expect(vm).toHaveUnitActive('ssh.service');
    await expect(vm).not.toHaveUnitActive('nope.service');
    await expect(vm).toHaveNoFailedUnits();
    expect(result).toSucceed();
    expect(result).toExitWith(1);
    expectTypeOf(expect(vm).toHaveNoFailedUnits()).resolves.toBeVoid();

    // @ts-expect-error a priority name that journalctl does not know
    expect(journal).toHaveNoEntries({ priority: 'error' });
    // @ts-expect-error a typo in a match field
    expect(journal).toContainEntry({ unti: 'ssh.service' });
    // @ts-expect-error message is a string or a RegExp
    expect(journal).toContainEntry({ message: 42 });
    // @ts-expect-error allow is a list of matches
    expect(journal).toHaveNoEntries({ allow: { identifier: 'kernel' } });
    // @ts-expect-error the exit status is a number
    expect(result).toExitWith('1');
    // @ts-expect-error a unit name is needed
    await expect(vm).toHaveUnitActive();
  });
  expectTypeOf<{ priority: 'warning'; allow: [{ unit: 'a.service' }] }>().toExtend<NoEntriesOptions>();
  expectTypeOf(vmspawnMatchers.toSucceed).toBeFunction();
});
