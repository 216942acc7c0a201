/**
 * UEFI boot paths on real boots of the UEFI image (fixtures/uefi-image): the disk through systemd-boot
 * into its UKI (the default entry) and into its Type #1 entry, the UKI given as linux, and Secure Boot
 * firmware refusing the unsigned boot loader. Under TCG a UEFI boot takes about a minute, so each boot
 * proves several things.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { listFirmware } from '../../src/host/firmware-descriptors.js';
import type { UefiImage } from '../../src/image/uefi-image.js';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { IMAGE_BUILD_TIMEOUT, machineProcesses, processesMentioning, uefi, useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-uefi-boot-');
/** systemd-boot's vendor GUID for its EFI variables (LoaderEntrySelected and friends). */
const LOADER_GUID = '4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';
/** A UEFI boot takes 70–90 s under TCG here, more beside other guests: more than the default bootTimeout allows. */
const bootTimeout = 300_000;

let image: UefiImage;
beforeAll(async () => {
  image = await uefi();
}, IMAGE_BUILD_TIMEOUT);

/** The boot loader entry systemd-boot started, from its EFI variable (UTF-16 after a 4-byte attribute header). */
async function selectedEntry(vm: StartedMachine): Promise<string> {
  const variable = `/sys/firmware/efi/efivars/LoaderEntrySelected-${LOADER_GUID}`;
  const bytes = Buffer.from((await vm.exec(['base64', '-w0', variable])).stdout, 'base64');
  return bytes.subarray(4).toString('utf16le').replace(/\0+$/, '');
}

async function commandLine(vm: StartedMachine): Promise<string[]> {
  return (await vm.exec(['cat', '/proc/cmdline'])).stdout.split(' ');
}

describe('a UEFI disk image', { timeout: 480_000 }, () => {
  test('boots through firmware from the descriptors and systemd-boot into its UKI: credentials, READY, SSH, journal, kernelArgs, exit status', async () => {
    const artifactsDir = join(workDir(), 'uki-entry');
    const vm = await new Machine({
      image: image.disk,
      kernelArgs: ['vmspawn.test=uki-entry'],
      setCredential: { 'mytest.greeting': 'hello from the host' },
      artifactsDir,
      bootTimeout,
    }).start();
    const processes = vm.summary.processes;
    // 'auto' takes the first firmware without Secure Boot, which runs on the pc machine without SMM.
    expect(vm.summary.boot).toMatchObject({ path: 'uefi-disk', machine: 'pc', secureBoot: false, firmware: expect.stringMatching(/\.json$/) });
    expect(vm.summary.readyAfterMs).toBeGreaterThan(0);
    expect(await selectedEntry(vm)).toBe(image.manifest.boot.entries.uki);
    // systemd-stub appended io.systemd.stub.kernel-cmdline-extra to the UKI's own command line.
    const args = await commandLine(vm);
    expect(args).toEqual(expect.arrayContaining(['vmspawn.test=uki-entry', 'rw']));
    expect(args.slice(-1)).toEqual(['vmspawn.test=uki-entry']);
    // The root came from the discoverable partition, without root= anywhere.
    expect(args.filter((arg) => arg.startsWith('root='))).toEqual([]);
    expect((await vm.exec(['findmnt', '-n', '-o', 'SOURCE', '/'])).stdout).toBe('/dev/vda2');
    expect((await vm.exec(['systemd-creds', '--system', 'cat', 'mytest.greeting'])).stdout).toBe('hello from the host');
    // swtpm is installed here, so tpm: 'auto' gave the machine a TPM, which UEFI firmware measures into.
    expect(processes.swtpm).toBeGreaterThan(0);
    expect((await vm.exec(['ls', '/dev/tpmrm0'])).stdout).toBe('/dev/tpmrm0');
    await vm.exec(['logger', '-t', 'uefi-test', 'journal from a UEFI boot']);
    expect((await vm.waitForJournal({ identifier: 'uefi-test' })).message).toBe('journal from a UEFI boot');
    // The firmware ran from the machine's own copy of its variable store; the template is untouched.
    const qemuCommandLine = await readFile(join(artifactsDir, 'qemu-cmdline.txt'), 'utf8');
    expect(qemuCommandLine).toMatch(/if=pflash,unit=0,format=raw,readonly=on,file=/);
    expect(qemuCommandLine).toMatch(/if=pflash,unit=1,format=raw,file=.*efi-vars\.fd/);

    await vm.exec('systemctl exit 42', { reject: false });
    expect(await vm.waitForExit({ timeout: 120_000 })).toMatchObject({ exitStatus: 42, endedBy: 'guest' });
    expect(machineProcesses({ ...vm.summary, processes })).toEqual([]);
    expect(existsSync(join(artifactsDir, 'journal.journal'))).toBe(true);
    await vm.stop();
  });

  test('boots its Type #1 entry with secureBoot: false; kernelArgs reach it through systemd-boot', async () => {
    const firmware = await listFirmware();
    expect(firmware.map((entry) => entry.name)).toContain('60-edk2-x86_64.json');
    expect(firmware.every((entry) => existsSync(entry.code.path) && existsSync(entry.varsTemplate.path))).toBe(true);

    const vm = await new Machine({
      image: image.diskType1,
      secureBoot: false,
      kernelArgs: ['vmspawn.test=type1-entry'],
      artifactsDir: join(workDir(), 'type1-entry'),
      bootTimeout,
    }).start();
    try {
      expect(vm.summary.boot).toMatchObject({ path: 'uefi-disk', secureBoot: false });
      expect(await selectedEntry(vm)).toBe(image.manifest.boot.entries.type1);
      // systemd-boot appended io.systemd.boot.kernel-cmdline-extra to the entry's options line.
      expect((await commandLine(vm)).slice(-1)).toEqual(['vmspawn.test=type1-entry']);
      expect((await vm.exec('hostname')).stdout).toBe('vm');
    } finally {
      expect(await vm.shutdown()).toBe(0);
    }
  });

  test('with secureBoot: true, firmware that enforces its enrolled keys refuses the unsigned boot loader, and says so', async () => {
    const artifactsDir = join(workDir(), 'secure-boot');
    const started = Date.now();
    const failure = await new Machine({ image: image.disk, secureBoot: true, artifactsDir, bootTimeout: 200_000 }).start().then(
      () => new Error('started'),
      (error: Error) => error,
    );
    expect(failure.message).toMatch(/^Secure Boot refused the image's boot loader \(OVMF: Boot\d+ "[^"]+": Access Denied/);
    expect(Date.now() - started).toBeLessThan(120_000);
    const summary = JSON.parse(await readFile(join(artifactsDir, 'summary.json'), 'utf8'));
    expect(summary.boot).toMatchObject({ path: 'uefi-disk', machine: 'q35', secureBoot: true });
    expect(await readFile(join(artifactsDir, 'qemu-cmdline.txt'), 'utf8')).toMatch(/q35,memory-backend=mem,smm=on(.|\n)*driver=cfi\.pflash01,property=secure,value=on/);
    expect(processesMentioning(artifactsDir)).toEqual([]);
  });
});

describe('a UKI given as linux', { timeout: 480_000 }, () => {
  test('boots under UEFI firmware with its own command line, kernelArgs appended through SMBIOS', async () => {
    const vm = await new Machine({
      linux: image.uki,
      image: image.disk,
      // Without systemd-boot no loader names the boot disk, so the initrd's gpt-auto needs root= here.
      kernelArgs: [`root=PARTUUID=${image.manifest.partitions.root.partuuid}`, 'vmspawn.test=uki-linux'],
      artifactsDir: join(workDir(), 'uki-linux'),
      bootTimeout,
    }).start();
    try {
      expect(vm.summary.boot).toMatchObject({ path: 'uefi-uki' });
      const args = await commandLine(vm);
      // Its built-in .cmdline stayed (no -append replaced it), and the extra arguments follow it.
      expect(args.join(' ')).toContain(image.manifest.boot.cmdline);
      expect(args.slice(-1)).toEqual(['vmspawn.test=uki-linux']);
      expect((await vm.exec(['findmnt', '-n', '-o', 'SOURCE', '/'])).stdout).toBe('/dev/vda2');
    } finally {
      expect(await vm.shutdown()).toBe(0);
    }
  });
});
