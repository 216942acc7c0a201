/**
 * The public API's types, pinned: `tsc -p tsconfig.check.json` (part of `npm test`) fails when a
 * typo in options compiles or a documented call stops compiling.
 */
import { expectTypeOf, test as vitestTest } from 'vitest';
import {
  Machine,
  test,
  useVm,
  withVm,
  type ExecResult,
  type JournalEntry,
  type JournalSuppression,
  type MachineOptions,
  type StartedMachine,
  type UnitStatus,
  type VmTestOptions,
} from '../../src/index.js';

vitestTest('options accept what is documented and reject typos', () => {
  expectTypeOf<{ ram: '1G'; cpus: 2; kvm: 'auto'; setCredential: { a: 'b' } }>().toExtend<MachineOptions>();
  expectTypeOf<{ ram: 1073741824; initrd: ['a', 'b'] }>().toExtend<MachineOptions>();
  expectTypeOf<{ kvm: 'yes' }>().not.toExtend<MachineOptions>();
  expectTypeOf<{ cpus: '2' }>().not.toExtend<MachineOptions>();
  expectTypeOf<{ journalRateLimit: true }>().toExtend<MachineOptions>();
  expectTypeOf<{ journalRateLimit: 'off' }>().not.toExtend<MachineOptions>();
  expectTypeOf<{ directory: '/srv/tree'; ephemeral: false; bind: ['/a:/b']; bindReadOnly: ['/c'] }>().toExtend<MachineOptions>();
  expectTypeOf<{ bind: '/a:/b' }>().not.toExtend<MachineOptions>();
  // vitest's own test options travel with the machine options.
  expectTypeOf<{ ram: '1G'; timeout: 60_000; retry: 1 }>().toExtend<VmTestOptions>();

  // @ts-expect-error unknown option
  const typo: MachineOptions = { rams: '1G' };
  void typo;
});

vitestTest('test.vm has the modifiers vitest 4.1 and 5 both offer', () => {
  for (const modifier of ['skip', 'only', 'concurrent', 'todo', 'fails', 'skipIf', 'runIf', 'for', 'each'] as const) {
    expectTypeOf(test.vm[modifier]).toBeFunction();
    if (typeof test.vm[modifier] !== 'function') throw new Error(`test.vm.${modifier} is missing`);
  }
  if (typeof test.vm.skip.concurrent.each !== 'function') throw new Error('chained modifiers lost .each');
});

vitestTest('test.vm and the machine handle', () => {
  // Declarations only: these calls are type-checked, never run (the callbacks would boot machines).
  const declare = (register: () => void) => void register;
  declare(() => {
    test.vm('name', async ({ vm, task }) => {
      expectTypeOf(vm).toEqualTypeOf<StartedMachine>();
      expectTypeOf(task.name).toBeString();
      expectTypeOf(await vm.exec(['true'])).toEqualTypeOf<ExecResult>();
      expectTypeOf(await vm.waitForJournal({ identifier: 'x' })).toEqualTypeOf<JournalEntry>();
      expectTypeOf(vm.journal.suppressed).toEqualTypeOf<JournalSuppression>();
      expectTypeOf(vm.journal.suppressed.byUnit['app.service']).toEqualTypeOf<number | undefined>();
      expectTypeOf(await vm.shutdown()).toEqualTypeOf<number | undefined>();
      expectTypeOf(await vm.waitForUnit('ssh', { state: 'failed', timeout: 5_000 })).toEqualTypeOf<UnitStatus>();
      expectTypeOf(await vm.waitUntilSucceeds(['true'])).toEqualTypeOf<ExecResult>();
      expectTypeOf(await vm.waitForConsole(/login:/, { since: 'now' })).toBeString();
      // @ts-expect-error not a state waitForUnit knows
      await vm.waitForUnit('ssh', { state: 'running' });
      // @ts-expect-error since takes 'boot' or 'now'
      await vm.waitForConsole('x', { since: 'later' });
    });
    test.vm.skip.concurrent('chained', { ram: '512M', timeout: 1 }, async ({ vm }) => void vm);
    test.vm.for([1, 2])('for %i', async (item, { vm }) => {
      expectTypeOf(item).toBeNumber();
      void vm;
    });
    test.vm.each([['a', 1]] as Array<[string, number]>)('each %s', async (letter, number, { vm }) => {
      expectTypeOf(letter).toBeString();
      expectTypeOf(number).toBeNumber();
      void vm;
    });
    const withGreeting = withVm(vitestTest.extend('greeting', async () => 'hello'));
    withGreeting.vm('both fixtures', async ({ vm, greeting }) => {
      expectTypeOf(greeting).toBeString();
      void vm;
    });
    expectTypeOf(new Machine({ linux: '/k' }).start()).resolves.toEqualTypeOf<StartedMachine>();
  });
});

vitestTest('useVm and test.vm.defaults', () => {
  // Declarations only, as above: useVm registers hooks, so it is called only where it would be collected.
  const declare = (register: () => void) => void register;
  declare(() => {
    test.vm.defaults({ ram: '1G' });
    // @ts-expect-error unknown option
    test.vm.defaults({ rams: '1G' });
    const shared = useVm({ setCredential: { a: 'b' } }, { reuse: 'worker', reset: async (vm) => void (await vm.exec('true')) });
    shared('reads', async ({ vm, task }) => {
      expectTypeOf(vm).toEqualTypeOf<StartedMachine>();
      expectTypeOf(task.name).toBeString();
    });
    shared.concurrent.skip('chained', { timeout: 1, retry: 1 }, async ({ vm }) => void vm);
    shared.for(['x'])('for %s', async (item, { vm }) => void [item, vm]);
    expectTypeOf(shared.machine()).resolves.toEqualTypeOf<StartedMachine>();
    // @ts-expect-error machine options belong to useVm, not to its tests
    shared('no machine options', { ram: '1G' }, async () => undefined);
    // @ts-expect-error reuse is 'scope' or 'worker'
    useVm({}, { reuse: 'file' });
  });
});
