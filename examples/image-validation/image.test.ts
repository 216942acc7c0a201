import { statSync } from 'node:fs';
import { expect } from 'vitest';
import { useVm, type JournalMatch, type SharedVmOptions } from 'vitest-vmspawn';

// The image under test: VALIDATE_IMAGE names a disk image (booted through UEFI, as systemd-vmspawn
// boots one) or a directory tree; without it, the project's default image.
const image = process.env.VALIDATE_IMAGE;
const options: SharedVmOptions = image ? (statSync(image).isDirectory() ? { directory: image } : { image }) : {};

// Units the image must have enabled, and error-priority journal lines a boot of it may log.
const enabledUnits = (process.env.VALIDATE_ENABLED ?? 'remote-fs.target systemd-pstore.service').split(/\s+/).filter(Boolean);
const allowedErrors: JournalMatch[] = [
  // e.g. { identifier: 'kernel', message: /ACPI BIOS Error/ },
];

// Every check only reads: one machine for the whole file.
const test = useVm(options);

test('the system reaches running', async ({ vm }) => {
  const state = await vm.exec('systemctl is-system-running --wait', { reject: false });
  expect(state.stdout).toBe('running');
});

test('no unit failed', async ({ vm }) => {
  await expect(vm).toHaveNoFailedUnits();
});

test('the boot logged no errors', async ({ vm }) => {
  await vm.waitForUnit('multi-user.target');
  expect(vm.journal).toHaveNoEntries({ priority: 'err', allow: allowedErrors });
});

test.for(enabledUnits)('%s is enabled', async (unit, { vm }) => {
  const enabled = await vm.exec(['systemctl', 'is-enabled', unit], { reject: false });
  expect(enabled.stdout).toBe('enabled');
});
