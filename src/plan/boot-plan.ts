/**
 * How a machine boots, decided from the options, what the kernel file is, and the chosen firmware:
 *
 * - `direct-kernel`: a plain kernel given as `linux` (optionally with a disk), booted by QEMU itself
 *   under SeaBIOS, with the command line in `-append`. The fastest path.
 * - `uefi-kernel`: the same kernel started by UEFI firmware through its EFI stub, when `firmware` is given.
 * - `uefi-uki`: a unified kernel image given as `linux`, started by UEFI firmware. Its command line is
 *   its own `.cmdline`; the engine's and the user's arguments travel in the SMBIOS string
 *   `io.systemd.stub.kernel-cmdline-extra`, which systemd-stub appends.
 * - `uefi-disk`: an `image` without `linux`, booted by UEFI firmware from the disk's ESP (systemd-boot,
 *   a UKI, any EFI boot loader). Arguments travel in `io.systemd.boot.kernel-cmdline-extra` (systemd-boot
 *   appends it to Type #1 entries) and `io.systemd.stub.kernel-cmdline-extra` (UKIs).
 *
 * Every path gets `console=ttyS0` (the console lands in console.log) and `panic=-1` (a panic ends the
 * machine at once, see {@link engineKernelArgs}).
 */
import type { FirmwareDescriptor } from '../host/firmware-descriptors.js';
import type { KernelKind } from '../options/pe-sections.js';
import { DEFAULT_MACHINE_TYPE, machineTypeFor, type MachineType } from './firmware-choice.js';
import type { MachineLayout } from './machine-layout.js';
import { escapeOptionValue } from './qemu-syntax.js';

export type BootPath = 'direct-kernel' | 'uefi-kernel' | 'uefi-uki' | 'uefi-disk';

/** The SMBIOS type 11 keys through which systemd-stub and systemd-boot take extra kernel arguments (VM_INTERFACE.md). */
export const STUB_CMDLINE_EXTRA = 'io.systemd.stub.kernel-cmdline-extra';
export const BOOT_CMDLINE_EXTRA = 'io.systemd.boot.kernel-cmdline-extra';

export interface BootInput {
  linux: string | undefined;
  /** The initrd QEMU loads (several were merged already), if any. */
  initrd: string | undefined;
  image: string | undefined;
  kernelArgs: readonly string[];
  /** What `linux` is, read from the file. */
  kernelKind: KernelKind | undefined;
  /** The firmware to boot with, when {@link bootsWithUefi} says the machine needs one. */
  firmware: FirmwareDescriptor | undefined;
}

export interface BootPlan {
  path: BootPath;
  machine: MachineType;
  /** The firmware and the machine's own copy of its variable store (the template is never written). */
  firmware: { descriptor: FirmwareDescriptor; nvram: { template: string; format: 'raw' | 'qcow2'; path: string } } | undefined;
  /** The kernel command line given to QEMU with `-append` (kernel paths only). */
  commandLine: string | undefined;
  /** SMBIOS type 11 strings that carry the kernel arguments on UEFI paths. */
  smbiosStrings: string[];
  /** Firmware and kernel arguments for QEMU. */
  qemuArgs: string[];
}

/** Whether the options need UEFI firmware: a `firmware` given, a UKI as `linux`, or a disk image without `linux`. */
export function bootsWithUefi(options: { linux: string | undefined; image: string | undefined; firmware: string | undefined }, kernelKind: KernelKind | undefined): boolean {
  return options.firmware !== undefined || kernelKind === 'uki' || (options.linux === undefined && options.image !== undefined);
}

/** The arguments the engine needs on every path, before the user's. */
export function engineKernelArgs(): string[] {
  // panic=-1 turns a kernel panic into an immediate reboot, which -no-reboot turns into QEMU exiting:
  // a broken boot fails in seconds with the panic on the console instead of waiting for bootTimeout.
  return ['console=ttyS0', 'panic=-1'];
}

export function planBoot(input: BootInput, layout: MachineLayout): BootPlan {
  const args = [...engineKernelArgs(), ...input.kernelArgs].join(' ');
  const path = bootPath(input);
  const kernelFiles = input.linux ? ['-kernel', input.linux, ...(input.initrd ? ['-initrd', input.initrd] : [])] : [];

  if (path === 'direct-kernel') {
    return { path, machine: DEFAULT_MACHINE_TYPE, firmware: undefined, commandLine: args, smbiosStrings: [], qemuArgs: [...kernelFiles, '-append', args] };
  }
  const descriptor = input.firmware;
  if (!descriptor) throw new Error(`planBoot: the ${path} path needs a firmware descriptor`);
  const machine = machineTypeFor(descriptor);
  const nvram = { template: descriptor.varsTemplate.path, format: descriptor.varsTemplate.format, path: layout.nvram };
  const firmwareArgs = [
    '-drive', `if=pflash,unit=0,format=${descriptor.code.format},readonly=on,file=${escapeOptionValue(descriptor.code.path)}`,
    '-drive', `if=pflash,unit=1,format=${nvram.format},file=${escapeOptionValue(nvram.path)}`,
    // Secure Boot firmware keeps its variables safe only when the flash is writable from SMM alone.
    ...(machine.smm ? ['-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
  ];
  const smbiosStrings =
    path === 'uefi-kernel' ? [] : [`${STUB_CMDLINE_EXTRA}=${args}`, ...(path === 'uefi-disk' ? [`${BOOT_CMDLINE_EXTRA}=${args}`] : [])];
  // A UKI's own .cmdline would be replaced by -append (systemd-stub takes the load options instead when
  // Secure Boot is off), so it gets none: the arguments are appended through SMBIOS.
  const kernelArgs = path === 'uefi-kernel' ? [...kernelFiles, '-append', args] : kernelFiles;
  return {
    path,
    machine,
    firmware: { descriptor, nvram },
    commandLine: path === 'uefi-kernel' ? args : undefined,
    smbiosStrings,
    qemuArgs: [...firmwareArgs, ...kernelArgs],
  };
}

function bootPath(input: BootInput): BootPath {
  if (input.kernelKind === 'uki') return 'uefi-uki';
  if (input.linux !== undefined) return input.firmware ? 'uefi-kernel' : 'direct-kernel';
  return 'uefi-disk';
}
