import { expect } from 'vitest';
import { test } from 'vitest-vmspawn';

test.vm('runs commands in the guest over SSH', async ({ vm }) => {
  // A string runs in the guest's shell; an array is an argument vector, quoted for you.
  const { stdout } = await vm.exec('. /etc/os-release && echo $ID $VERSION_CODENAME');
  expect(stdout).toBe('debian trixie');
  expect((await vm.exec(['echo', 'one argument with spaces'])).stdout).toBe('one argument with spaces');

  // Non-zero exits throw, unless you ask for the result.
  await expect(vm.exec('false')).rejects.toThrow(/exited with status 1/);
  const result = await vm.exec('systemctl is-active emergency.service', { reject: false });
  expect(result).toMatchObject({ exitCode: 3, stdout: 'inactive' });

  // Standard input.
  expect((await vm.exec('wc -l', { input: 'a\nb\nc\n' })).stdout).toBe('3');
});

test.vm('the guest reports its exit status', async ({ vm }) => {
  // The guest goes down while the command runs, so its own exit status may never arrive.
  await vm.exec('systemctl exit 42', { reject: false });
  const { exitStatus } = await vm.waitForExit();
  expect(exitStatus).toBe(42);
});
