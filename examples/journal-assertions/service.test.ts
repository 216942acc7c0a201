import { expect } from 'vitest';
import { useVm } from 'vitest-vmspawn';

// One machine for the file: each test starts a service of its own and cleans up after it, so the
// tests do not see each other's state (run them alone with .only and they still pass).
const test = useVm();

test('a service reports its work and a degraded disk', async ({ vm }) => {
  // A line that starts with <3> is logged at error priority (SyslogLevelPrefix=, on for services).
  await vm.exec(['systemd-run', '--unit=inventory', '--service-type=oneshot', '--wait', 'sh', '-c', 'echo "checked 3 disks"; echo "<3>disk sdb is degraded"']);
  await vm.waitForJournal({ unit: 'inventory.service', message: 'degraded' });

  expect(vm.journal).toContainEntry({ unit: 'inventory.service', message: /checked \d disks/ });
  expect(vm.journal).toContainEntry({ unit: 'inventory.service', priority: 'err', message: 'sdb' });
  expect(vm.journal).not.toContainEntry({ unit: 'inventory.service', priority: 'crit' });
});

test('a long-running service stays up until it is stopped', async ({ vm }) => {
  await vm.exec(['systemd-run', '--unit=ticker', 'sh', '-c', 'while :; do echo tick; sleep 1; done']);
  await vm.waitForUnit('ticker');
  await vm.waitForJournal({ unit: 'ticker.service', message: 'tick' });
  await expect(vm).toHaveUnitActive('ticker.service');

  await vm.exec('systemctl stop ticker.service');
  await vm.waitForUnit('ticker', { state: 'inactive' });
  await expect(vm).not.toHaveUnitActive('ticker.service');
});

test('a failing service is caught with its reason', async ({ vm }) => {
  const start = await vm.exec(['systemd-run', '--unit=broken', '--service-type=oneshot', 'sh', '-c', 'echo "<3>cannot read /etc/broken.conf"; exit 3'], { reject: false });
  expect(start).not.toSucceed();

  // The wait fails at once (not after its timeout) with the unit's status and journal lines.
  await expect(vm.waitForUnit('broken')).rejects.toThrow(/broken\.service/);
  expect(vm.journal).toContainEntry({ unit: 'broken.service', priority: 'err', message: 'broken.conf' });
  expect(await vm.exec('systemctl is-failed broken.service', { reject: false })).toSucceed();

  // Leave the shared machine as it was found.
  await vm.exec('systemctl reset-failed broken.service');
  await expect(vm).toHaveNoFailedUnits();
});
