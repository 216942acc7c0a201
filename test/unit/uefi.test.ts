import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { listFirmware, parseFirmwareDescriptor, type FirmwareDescriptor } from '../../src/host/firmware-descriptors.js';
import { checkFirmware } from '../../src/options/check-firmware.js';
import { kernelKind, peSectionNames } from '../../src/options/pe-sections.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { planBoot } from '../../src/plan/boot-plan.js';
import { chooseFirmware, machineTypeFor } from '../../src/plan/firmware-choice.js';
import { machineLayout } from '../../src/plan/machine-layout.js';
import { planMachine } from '../../src/plan/plan-machine.js';

/** A minimal PE file: DOS header, PE signature, COFF header, no optional header, and a section table. */
function peFile(sections: string[]): Buffer {
  const pe = 0x80;
  const buffer = Buffer.alloc(pe + 24 + sections.length * 40);
  buffer.write('MZ', 0, 'latin1');
  buffer.writeUInt32LE(pe, 0x3c);
  buffer.write('PE\0\0', pe, 'latin1');
  buffer.writeUInt16LE(0x8664, pe + 4);
  buffer.writeUInt16LE(sections.length, pe + 6);
  buffer.writeUInt16LE(0, pe + 20);
  sections.forEach((name, index) => buffer.write(name, pe + 24 + index * 40, 'latin1'));
  return buffer;
}

function descriptor(name: string, features: string[], machines = ['pc-q35-*'], code = `/fw/${name}.code`): object {
  return {
    description: name,
    'interface-types': ['uefi'],
    mapping: { device: 'flash', executable: { filename: code, format: 'raw' }, 'nvram-template': { filename: `/fw/${name}.vars`, format: 'raw' } },
    targets: [{ architecture: 'x86_64', machines }],
    features,
    tags: [],
  };
}

function parsed(name: string, features: string[], machines?: string[]): FirmwareDescriptor {
  const result = parseFirmwareDescriptor(JSON.stringify(descriptor(name, features, machines)), `/d/${name}.json`);
  if (!('descriptor' in result)) throw new Error(result.problem);
  return result.descriptor;
}

// As Debian's ovmf package ships them, in name order.
const debian = [
  parsed('40-edk2-x86_64-secure-enrolled', ['acpi-s3', 'enrolled-keys', 'requires-smm', 'secure-boot']),
  parsed('50-edk2-x86_64-secure', ['acpi-s3', 'requires-smm', 'secure-boot']),
  parsed('60-edk2-x86_64', ['acpi-s3'], ['pc-i440fx-*', 'pc-q35-*']),
];

describe('unified kernel images', () => {
  test('a PE file with a .linux section is a UKI; a PE kernel without one, or no PE at all, is a plain kernel', () => {
    expect(peSectionNames(peFile(['.text', '.osrel', '.cmdline', '.linux']))).toEqual(['.text', '.osrel', '.cmdline', '.linux']);
    expect(kernelKind(peFile(['.setup', '.reloc', '.compat', '.text']))).toBe('kernel');
    expect(kernelKind(peFile(['.text', '.linux', '.initrd']))).toBe('uki');
    expect(kernelKind(Buffer.from('\x7fELF not a PE file at all', 'latin1'))).toBe('kernel');
    expect(peSectionNames(peFile(['.linux']).subarray(0, 0x90))).toBeUndefined();
  });
});

describe('firmware descriptors', () => {
  test('are found by name order across directories; a more specific directory hides a file of the same name, an empty one masks it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fw-'));
    const [user, etc, share] = ['user', 'etc', 'share'].map((dir) => join(root, dir)) as [string, string, string];
    await Promise.all([user, etc, share].map((dir) => mkdir(dir)));
    await writeFile(join(share, '60-plain.json'), JSON.stringify(descriptor('60-plain', [])));
    await writeFile(join(share, '50-secure.json'), JSON.stringify(descriptor('50-secure', ['secure-boot', 'requires-smm'])));
    await writeFile(join(share, '70-masked.json'), JSON.stringify(descriptor('70-masked', [])));
    await writeFile(join(share, '80-bios.json'), JSON.stringify({ ...descriptor('80-bios', []), 'interface-types': ['bios'] }));
    await writeFile(join(share, '90-broken.json'), '{ not json');
    await writeFile(join(etc, '70-masked.json'), '');
    await writeFile(join(user, '60-plain.json'), JSON.stringify(descriptor('60-plain', [], ['pc-i440fx-*'], '/mine/code.fd')));
    const found = await listFirmware([user, etc, share]);
    expect(found.map((entry) => [entry.name, entry.code.path])).toEqual([
      ['50-secure.json', '/fw/50-secure.code'],
      ['60-plain.json', '/mine/code.fd'],
    ]);
    expect(found[1]).toMatchObject({ path: join(user, '60-plain.json'), features: [], machines: ['pc-i440fx-*'], varsTemplate: { path: '/fw/60-plain.vars', format: 'raw' } });
  });

  test('anything but UEFI flash firmware for x86_64 is refused with the reason', () => {
    const problem = (data: unknown) => {
      const result = parseFirmwareDescriptor(typeof data === 'string' ? data : JSON.stringify(data), '/d/x.json');
      return 'problem' in result ? result.problem : 'accepted';
    };
    expect(problem('nope')).toMatch(/not JSON/);
    expect(problem({ hello: 1 })).toMatch(/no "interface-types"/);
    expect(problem({ ...descriptor('x', []), targets: [{ architecture: 'aarch64', machines: ['virt-*'] }] })).toMatch(/no x86_64 target/);
    expect(problem({ ...descriptor('x', []), mapping: { device: 'memory', filename: '/fw/x' } })).toMatch(/mapped as "memory"/);
    expect(problem(descriptor('x', []))).toBe('accepted');
  });
});

describe('choosing firmware', () => {
  test("secureBoot true takes the first with Secure Boot, false the first without; 'auto' the first that boots unsigned images", () => {
    const name = (choice: ReturnType<typeof chooseFirmware>) => ('firmware' in choice ? choice.firmware.name : choice.problem);
    expect(name(chooseFirmware(debian, true))).toBe('40-edk2-x86_64-secure-enrolled.json');
    expect(name(chooseFirmware(debian, false))).toBe('60-edk2-x86_64.json');
    expect(name(chooseFirmware(debian, 'auto'))).toBe('60-edk2-x86_64.json');
    expect(name(chooseFirmware(debian.slice(0, 2), 'auto'))).toBe('50-edk2-x86_64-secure.json');
    expect(name(chooseFirmware(debian.slice(0, 1), 'auto'))).toBe('40-edk2-x86_64-secure-enrolled.json');
    expect(name(chooseFirmware(debian.slice(0, 2), false))).toBe(
      'no firmware without Secure Boot was found among 40-edk2-x86_64-secure-enrolled.json, 50-edk2-x86_64-secure.json',
    );
    expect(name(chooseFirmware([], 'auto'))).toBe('no UEFI firmware for x86_64 was found');
  });

  test('firmware that needs SMM runs on q35 with SMM; firmware for i440fx on pc; the rest on q35', () => {
    expect(machineTypeFor(debian[0]!)).toEqual({ type: 'q35', smm: true });
    expect(machineTypeFor(debian[2]!)).toEqual({ type: 'pc', smm: false });
    expect(machineTypeFor(parsed('q35-only', []))).toEqual({ type: 'q35', smm: false });
  });
});

describe('boot paths', () => {
  const layout = machineLayout('/run/vm-1', '/art/test-1');
  const input = { linux: undefined, initrd: undefined, image: undefined, kernelArgs: ['quiet', 'x=1 2'], kernelKind: undefined, firmware: undefined };

  test('a plain kernel boots directly under SeaBIOS on pc, with the command line in -append', () => {
    const boot = planBoot({ ...input, linux: '/k', initrd: '/i', kernelKind: 'kernel' }, layout);
    expect(boot).toMatchObject({ path: 'direct-kernel', machine: { type: 'pc', smm: false }, firmware: undefined, smbiosStrings: [] });
    expect(boot.qemuArgs).toEqual(['-kernel', '/k', '-initrd', '/i', '-append', 'console=ttyS0 panic=-1 quiet x=1 2']);
  });

  test('a disk without a kernel boots through UEFI; kernel arguments reach systemd-boot and systemd-stub through SMBIOS', () => {
    const boot = planBoot({ ...input, image: '/disk.raw', firmware: debian[2] }, layout);
    expect(boot.path).toBe('uefi-disk');
    expect(boot.qemuArgs).toEqual([
      '-drive', 'if=pflash,unit=0,format=raw,readonly=on,file=/fw/60-edk2-x86_64.code',
      '-drive', 'if=pflash,unit=1,format=raw,file=/run/vm-1/efi-vars.fd',
    ]);
    expect(boot.firmware?.nvram).toEqual({ template: '/fw/60-edk2-x86_64.vars', format: 'raw', path: '/run/vm-1/efi-vars.fd' });
    expect(boot.smbiosStrings).toEqual([
      'io.systemd.stub.kernel-cmdline-extra=console=ttyS0 panic=-1 quiet x=1 2',
      'io.systemd.boot.kernel-cmdline-extra=console=ttyS0 panic=-1 quiet x=1 2',
    ]);
  });

  test('a UKI boots under UEFI without -append, which would replace its own command line; Secure Boot firmware gets q35, SMM and a secure flash', () => {
    const boot = planBoot({ ...input, linux: '/uki.efi', kernelKind: 'uki', firmware: debian[0] }, layout);
    expect(boot).toMatchObject({ path: 'uefi-uki', machine: { type: 'q35', smm: true }, commandLine: undefined });
    expect(boot.qemuArgs).not.toContain('-append');
    expect(boot.qemuArgs.slice(-4)).toEqual(['-global', 'driver=cfi.pflash01,property=secure,value=on', '-kernel', '/uki.efi']);
    expect(boot.smbiosStrings).toEqual(['io.systemd.stub.kernel-cmdline-extra=console=ttyS0 panic=-1 quiet x=1 2']);
  });

  test('a plain kernel with firmware given boots through the EFI stub with -append', () => {
    const boot = planBoot({ ...input, linux: '/k', kernelKind: 'kernel', firmware: debian[2] }, layout);
    expect(boot).toMatchObject({ path: 'uefi-kernel', smbiosStrings: [] });
    expect(boot.qemuArgs.slice(-4)).toEqual(['-kernel', '/k', '-append', 'console=ttyS0 panic=-1 quiet x=1 2']);
  });

  test('the machine type and SMBIOS strings reach the QEMU command line', () => {
    const plan = planMachine({
      options: resolveMachineOptions({ image: '/disk.raw', kernelArgs: ['quiet'] }),
      accelerator: 'tcg',
      layout,
      ports: { notify: 1, journal: 2 },
      ssh: undefined,
      imageFormat: 'raw',
      kernelKind: undefined,
      firmware: debian[1],
      vsock: 'user-space',
      binaries: { vhostDeviceVsock: 'vhost-device-vsock' },
    });
    expect(plan.qemu.args[plan.qemu.args.indexOf('-machine') + 1]).toBe('q35,memory-backend=mem,smm=on');
    expect(plan.smbiosFiles.map((file) => file.content).filter((content) => 'raw' in content)).toEqual([
      { raw: 'io.systemd.stub.kernel-cmdline-extra=console=ttyS0 panic=-1 quiet' },
      { raw: 'io.systemd.boot.kernel-cmdline-extra=console=ttyS0 panic=-1 quiet' },
    ]);
  });
});

describe('firmware checks before start', () => {
  const options = (extra: object) => resolveMachineOptions({ image: '/disk.raw', ...extra });
  const message = (check: Awaited<ReturnType<typeof checkFirmware>>) => ('problem' in check ? `${check.problem.option}: ${check.problem.message}` : check.firmware?.name);

  test('Secure Boot asked for on a direct kernel boot, a firmware path that is not a descriptor, and no Secure Boot firmware are refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-'));
    const notDescriptor = join(dir, 'OVMF_CODE.fd');
    await writeFile(notDescriptor, Buffer.alloc(64));
    await writeFile(join(dir, '60-plain.json'), JSON.stringify(descriptor('60-plain', [], ['pc-i440fx-*'], notDescriptor)));
    expect(message(await checkFirmware(resolveMachineOptions({ linux: '/k', secureBoot: true }), 'kernel', [dir]))).toMatch(
      /^secureBoot: is true, but this machine boots a plain kernel directly/,
    );
    expect(message(await checkFirmware(options({ firmware: notDescriptor }), undefined, [dir]))).toMatch(/^firmware: .*OVMF_CODE\.fd: it is not JSON/);
    expect(message(await checkFirmware(options({ firmware: join(dir, 'missing.json') }), undefined, [dir]))).toMatch(/^firmware: .*cannot read it \(ENOENT\)/);
    expect(message(await checkFirmware(options({ secureBoot: true }), undefined, [dir]))).toMatch(
      /^secureBoot: is true, but no firmware with Secure Boot was found among 60-plain.json \(looked in /,
    );
    expect(message(await checkFirmware(options({ firmware: join(dir, '60-plain.json'), secureBoot: true }), undefined, [dir]))).toMatch(
      /^secureBoot: is true, but the firmware .*60-plain.json lacks the secure-boot feature/,
    );
    // The descriptor is fine, but its NVRAM template does not exist.
    expect(message(await checkFirmware(options({}), undefined, [dir]))).toMatch(/^firmware: .*names \/fw\/60-plain.vars, which cannot be read/);
    expect(message(await checkFirmware(options({}), undefined, [join(dir, 'none')]))).toMatch(/^firmware: this machine boots through UEFI .*install OVMF/);
    expect(message(await checkFirmware(resolveMachineOptions({ linux: '/k' }), 'kernel', [dir]))).toBeUndefined();
  });
});
