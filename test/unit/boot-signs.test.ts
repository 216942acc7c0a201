import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { failedUnits, UNIT_FAILED_MESSAGE_ID } from '../../src/journal/failed-units.js';
import { toJournalEntry } from '../../src/journal/journal-entry.js';
import { consoleSign, firmwareSign, notifySign } from '../../src/machine/boot-signs.js';
import { BootWatch } from '../../src/machine/boot-watch.js';
import { NotifyEvents } from '../../src/notify/notify-events.js';
import { machineLayout } from '../../src/plan/machine-layout.js';
import { parseNotifyFields } from '../../src/notify/notify-message.js';
import { followFile } from '../../src/util/follow-file.js';

const message = (raw: string) => ({ time: 0, raw, fields: parseNotifyFields(raw) });

test('SeaBIOS finding nothing to boot', () => {
  const log = 'Booting from Hard Disk...\nBoot failed: could not read the boot disk\n\nenter handle_18:\n  NULL\nNo bootable device.';
  expect(firmwareSign(log)).toMatchObject({
    kind: 'no-bootable-device',
    headline: expect.stringMatching(/^The firmware found nothing to boot \(SeaBIOS: "No bootable device.", "could not read the boot disk"\)/),
  });
  expect(firmwareSign('SeaBIOS (version 1.16.2)\nBooting from ROM...')).toBeUndefined();
});

test('a kernel panic and emergency mode on the console', () => {
  expect(consoleSign('[    1.2] Kernel panic - not syncing: Requested init /nonexistent failed (error -2).')).toEqual({
    kind: 'kernel-panic',
    headline: 'The guest kernel panicked: Requested init /nonexistent failed (error -2).',
  });
  expect(consoleSign('You are in emergency mode. After logging in, type "journalctl -xb"')?.headline).toMatch(/^The guest's systemd entered emergency mode/);
  expect(consoleSign('You are in rescue mode.')?.kind).toBe('emergency-mode');
  expect(consoleSign('[  OK  ] Reached target multi-user.target')).toBeUndefined();
});

test('emergency and rescue targets in notify messages', () => {
  expect(notifySign(message('X_SYSTEMD_UNIT_ACTIVE=emergency.target'))?.headline).toMatch(/entered emergency mode \(it reported emergency.target active\)/);
  expect(notifySign(message('X_SYSTEMD_UNIT_ACTIVE=rescue.target'))?.headline).toMatch(/entered rescue mode/);
  expect(notifySign(message('X_SYSTEMD_UNIT_ACTIVE=multi-user.target'))).toBeUndefined();
  expect(notifySign(message('READY=1'))).toBeUndefined();
});

test('following a file hands over complete lines as they are written, and the rest on stop', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vmspawn-follow-'));
  try {
    const file = join(dir, 'console.log');
    const seen: string[] = [];
    const follower = followFile(file, (lines) => seen.push(...lines), 10);
    await new Promise((resolve) => setTimeout(resolve, 30)); // the file does not exist yet
    await writeFile(file, 'one\r\ntw');
    await expect.poll(() => seen).toEqual(['one']);
    await appendFile(file, 'o\nthree');
    await expect.poll(() => seen).toEqual(['one', 'two']);
    await follower.stop();
    expect(seen).toEqual(['one', 'two', 'three']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('OVMF finding nothing to boot is a sign, with the boot options it tried, also when it falls back to its shell', () => {
  const failed = 'BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x6,0x0): Not Found';
  expect(consoleSign([failed, 'BdsDxe: No bootable option or device was found.', 'BdsDxe: Press any key to enter the Boot Manager Menu.'].join('\n'))).toMatchObject({
    kind: 'no-bootable-device',
    headline: expect.stringMatching(/^The UEFI firmware found nothing to boot \(OVMF: "No bootable option or device was found\."; Boot0001 "UEFI Misc Device": Not Found\)/),
  });
  // As Debian's OVMF does it (seen with a disk of random bytes).
  const shell = [
    failed,
    'BdsDxe: loading Boot0002 "EFI Internal Shell" from Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)',
    'BdsDxe: starting Boot0002 "EFI Internal Shell" from Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)',
    'UEFI Interactive Shell v2.2',
  ].join('\n');
  expect(consoleSign(shell)?.headline).toMatch(
    /^The UEFI firmware found nothing to boot \(OVMF: no boot option started, so it fell back to its built-in shell; Boot0001 "UEFI Misc Device": Not Found\)/,
  );
  expect(consoleSign('BdsDxe: loading Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x6,0x0)')).toBeUndefined();
  const refused = shell.replace('Not Found', 'Access Denied');
  expect(consoleSign(refused)?.headline).toMatch(/^Secure Boot refused the image's boot loader \(OVMF: Boot0001 "UEFI Misc Device": Access Denied\)/);
});

test('failed units are read from the journal, each once', () => {
  const entry = (fields: Record<string, string>) => toJournalEntry({ MESSAGE: 'x', ...fields });
  expect(
    failedUnits([
      entry({ MESSAGE_ID: UNIT_FAILED_MESSAGE_ID, UNIT: 'srv.mount' }),
      entry({ UNIT: 'other.service', MESSAGE: 'Started other.service' }),
      entry({ MESSAGE_ID: UNIT_FAILED_MESSAGE_ID, UNIT: 'local-fs.target' }),
      entry({ MESSAGE_ID: UNIT_FAILED_MESSAGE_ID, UNIT: 'srv.mount' }),
    ]),
  ).toEqual(['srv.mount', 'local-fs.target']);
});

test('a sign whose lines reach the console in separate polls is still read whole', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'boot-watch-'));
  const layout = machineLayout(dir, dir);
  await writeFile(layout.consoleLog, 'BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x6,0x0): Not Found\r\n');
  const watch = new BootWatch(layout, new NotifyEvents());
  try {
    await new Promise((resolve) => setTimeout(resolve, 600)); // more than one poll later
    await appendFile(layout.consoleLog, 'BdsDxe: starting Boot0002 "EFI Internal Shell" from Fv(7CB8BDC9)\r\nUEFI Interactive Shell v2.2\r\n');
    await expect(watch.fatal).rejects.toThrow(/fell back to its built-in shell; Boot0001 "UEFI Misc Device": Not Found\)/);
  } finally {
    await watch.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
