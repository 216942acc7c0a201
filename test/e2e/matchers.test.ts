/**
 * The matchers on one real boot of the default image, registered by the plugin's setup file (this
 * project uses the plugin): each passes and fails with its message, and the engine's own SSH
 * activity leaves no error-priority entry in the guest's journal, neither while the guest runs nor
 * when it powers off.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { CORE_BOOT_TIMEOUT, image } from './helpers.js';

/** The failure message of an assertion that must fail. */
function failureOf(assertion: () => void): string {
  try {
    assertion();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the assertion passed');
}

describe('matchers on a booted machine', () => {
  let vm: StartedMachine;

  beforeAll(async () => {
    vm = await new Machine({ ...(await image()).initramfs, name: 'e2e-matchers', bootTimeout: CORE_BOOT_TIMEOUT }).start();
  });
  afterAll(async () => {
    await vm?.stop();
  });

  test('SSH activity of the engine leaves no error in the journal of the default image', async () => {
    // More commands at once than one connection carries (MaxSessions 10), so a second connection
    // opens, and freed channels are reused as soon as they are free.
    const results = await Promise.all(Array.from({ length: 24 }, (_, index) => vm.exec(`sleep 0.$((${index} % 3)); echo ${index}`)));
    expect(results.map((result) => result.stdout)).toEqual(Array.from({ length: 24 }, (_, index) => String(index)));
    // A mark logged after those commands: once it is here, their entries are too.
    await vm.exec(['logger', '-t', 'matchers-e2e', 'commands done']);
    await vm.waitForJournal({ identifier: 'matchers-e2e', message: 'commands done' });
    expect(vm.journal).toContainEntry({ identifier: 'sshd-session', message: /Accepted publickey for root/ });
    expect(vm.journal).toHaveNoEntries({ priority: 'err' });
    // Warnings are the kernel's about the virtual hardware, none from the engine's logins.
    expect(vm.journal).toHaveNoEntries({ priority: 'warning', allow: [{ fields: { _TRANSPORT: 'kernel' } }] });
  });

  test('toContainEntry and toHaveNoEntries pass and fail with the nearest and the offending entries', async () => {
    await vm.exec(['logger', '-t', 'matchers-e2e', '-p', 'user.err', 'disk on fire']);
    await vm.waitForJournal({ identifier: 'matchers-e2e', message: 'disk on fire' });

    expect(vm.journal).toContainEntry({ identifier: 'matchers-e2e', priority: 'err', message: /on fire$/ });
    expect(vm).toContainEntry({ identifier: 'matchers-e2e', message: 'disk' });
    expect(vm.journal.entries({ identifier: 'matchers-e2e' })).not.toContainEntry({ message: 'flood' });

    // An entry shows its unit when journald knew it: for a process as short-lived as logger, journald
    // sometimes reads /proc after the process ended and records no _SYSTEMD_UNIT (seen in CI).
    const unit = String.raw`(?: \(sshd@[^)]*\.service\))?`;
    const missing = failureOf(() => expect(vm.journal).toContainEntry({ identifier: 'matchers-e2e', message: 'water' }));
    expect(missing).toMatch(
      new RegExp(String.raw`^expected a journal entry with identifier=matchers-e2e, message=water among \d+ entries, but none matched\.\nEntries with identifier matchers-e2e \(all 2\):\n.* notice matchers-e2e\[\d+\]${unit}: commands done\n.* err matchers-e2e\[\d+\]${unit}: disk on fire$`),
    );
    const found = failureOf(() => expect(vm.journal).not.toContainEntry({ message: 'on fire' }));
    expect(found).toMatch(new RegExp(String.raw`^expected no journal entry with message=on fire among \d+ entries, but found 1:\n.* err matchers-e2e\[\d+\]${unit}: disk on fire$`));

    const noisy = failureOf(() => expect(vm.journal).toHaveNoEntries({ priority: 'err' }));
    expect(noisy).toMatch(new RegExp(String.raw`^expected no journal entries with priority=err, but found 1:\n {4}\d\d:\d\d:\d\d\.\d{3} err matchers-e2e\[\d+\]${unit}: disk on fire\nFix their cause`));
    expect(vm.journal).toHaveNoEntries({ priority: 'err', allow: [{ identifier: 'matchers-e2e', message: /on fire/ }] });
  });

  test('toHaveUnitActive and toHaveNoFailedUnits ask systemctl and show the status and journal of failed units', async () => {
    await expect(vm).toHaveUnitActive('systemd-journald.service');
    await expect(vm).toHaveNoFailedUnits();

    await vm.exec(['systemd-run', '--unit=matchers-fails', '--quiet', 'sh', '-c', 'echo "cannot open /etc/app.conf" >&2; exit 3']);
    await vm.waitForJournal({ unit: 'matchers-fails.service', message: /Failed with result/ });

    await expect(vm).not.toHaveUnitActive('matchers-fails.service');
    await expect(expect(vm).toHaveUnitActive('matchers-fails.service')).rejects.toThrow(
      /^expected unit matchers-fails\.service to be active, but it is failed\.\n {2}systemctl status matchers-fails\.service:\n.*matchers-fails\.service[^]*Active: failed[^]*last journal entries of matchers-fails\.service:\n[^]*cannot open \/etc\/app\.conf/,
    );
    await expect(expect(vm).toHaveNoFailedUnits()).rejects.toThrow(
      /^expected no failed units, but 1 failed: matchers-fails\.service \(failed\/failed\)\n {2}systemctl status matchers-fails\.service:\n[^]*status=3[^]*cannot open \/etc\/app\.conf/,
    );
    await vm.exec('systemctl reset-failed matchers-fails.service');
    await expect(vm).toHaveNoFailedUnits();
  });

  test('toSucceed and toExitWith show the command, its ending and its stderr', async () => {
    const ok = await vm.exec('echo fine', { reject: false });
    expect(ok).toSucceed();
    expect(ok).toExitWith(0);

    const failed = await vm.exec('for i in $(seq 1 40); do echo "problem $i" >&2; done; exit 3', { reject: false });
    expect(failed).toExitWith(3);
    expect(failed).not.toSucceed();
    expect(failureOf(() => expect(failed).toSucceed())).toMatch(
      /^expected the command to succeed, but it exited with status 3\.\n {2}command: for i in .*\n {2}stderr \(last 15 of 40 lines\):\n {4}… 25 earlier lines not shown\n {4}problem 26\n[^]* {4}problem 40\n {2}stdout: \(empty\)$/,
    );
    const killed = await vm.exec('kill -KILL $$', { reject: false });
    expect(failureOf(() => expect(killed).toExitWith(0))).toMatch(/^expected the command to exit with status 0, but it was killed by signal (SIG)?KILL\./);
  });

  test('powering off leaves no error from the engine in the journal', async () => {
    const before = vm.journal.entries().length;
    await vm.shutdown();
    expect(vm.journal.entries().length).toBeGreaterThan(before);
    expect(vm.journal.entries().slice(before)).toHaveNoEntries({ priority: 'err' });
  });
});
