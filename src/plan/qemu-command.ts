/**
 * The QEMU command line, built from sections. Each section owns one concern (machine and memory,
 * entropy, vsock, console, control socket, boot files, disks, network, credentials), so a new option
 * changes one section.
 */
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import { formatSize } from '../options/size.js';
import { planAccelerator } from './accelerator-plan.js';
import type { BootPlan } from './boot-plan.js';
import { discardMode, type ExtraDrivesPlan } from './disk-plan.js';
import type { MachineLayout } from './machine-layout.js';
import type { NetworkPlan } from './network-plan.js';
import { pciAddress } from './pci-slots.js';
import { escapeOptionValue } from './qemu-syntax.js';
import type { TpmPlan } from './tpm-plan.js';
import type { VirtiofsPlan } from './virtiofs-plan.js';
import type { VsockPlan } from './vsock-plan.js';

export type Accelerator = 'kvm' | 'tcg';

export interface QemuCommandInput {
  options: ResolvedMachineOptions;
  accelerator: Accelerator;
  layout: MachineLayout;
  /** Machine type, firmware and kernel: how the guest boots. */
  boot: BootPlan;
  /** The disk as QEMU opens it: the throwaway overlay, never the user's image. */
  rootDisk: { path: string; format: 'qcow2' | 'raw' } | undefined;
  /** Paths of the 0600 files that each hold one SMBIOS type 11 string. */
  smbiosFiles: string[];
  vsock: VsockPlan;
  extraDrives: ExtraDrivesPlan;
  network: NetworkPlan;
  tpm?: TpmPlan | undefined;
  /** Shared directories: their vhost-user-fs devices. */
  virtiofs?: Pick<VirtiofsPlan, 'qemuArgs'>;
}

export function qemuArguments(input: QemuCommandInput): string[] {
  return [
    ...baseSection(input),
    ...machineSection(input),
    ...entropySection(),
    ...vsockSection(input),
    ...tpmSection(input),
    ...consoleSection(input),
    ...controlSection(input),
    ...bootSection(input),
    ...diskSection(input),
    ...input.extraDrives.qemuArgs,
    ...virtiofsSection(input),
    ...input.network.qemuArgs,
    ...credentialSection(input),
    ...input.options.qemuArgs,
  ];
}

function baseSection({ options }: QemuCommandInput): string[] {
  // -no-reboot: a guest that reboots or panics ends the machine instead of looping.
  return [
    '-name', options.name, '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    ...(options.uuid ? ['-uuid', options.uuid] : []),
  ];
}

function machineSection({ options, accelerator, boot }: QemuCommandInput): string[] {
  const memory = formatSize(roundUpToMiB(options.ramBytes));
  const { type, smm } = boot.machine;
  const accel = planAccelerator(accelerator);
  const properties = ['memory-backend=mem', ...(smm ? ['smm=on'] : []), ...accel.machineProperties];
  return [
    '-machine', [type, ...properties].join(','),
    ...accel.qemuArgs,
    '-smp', String(options.cpus),
    '-m', memory,
    // vhost-user devices need guest memory the daemon can map: a shared memfd.
    '-object', `memory-backend-memfd,id=mem,size=${memory},share=on`,
  ];
}

/** Without an entropy source the guest's RNG needs seconds to initialise and sshd blocks on it. */
function entropySection(): string[] {
  return ['-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', `virtio-rng-pci,rng=rng0,${pciAddress('rng')}`];
}

function vsockSection({ vsock }: QemuCommandInput): string[] {
  return vsock.qemuArgs;
}

function tpmSection({ tpm }: QemuCommandInput): string[] {
  return tpm?.qemuArgs ?? [];
}

/**
 * The guest console is written by QEMU straight to the artifacts, so nothing is lost if the host
 * process dies. So is the firmware's debug port, where SeaBIOS says what it booted or that it
 * found nothing to boot (it prints nothing on the serial console).
 */
function consoleSection({ layout, options }: QemuCommandInput): string[] {
  // With a console socket QEMU still logs every byte to console.log (logfile=), connected or not.
  const console = options.consoleSocket
    ? `socket,id=console,path=${escapeOptionValue(options.consoleSocket)},server=on,wait=off,logfile=${escapeOptionValue(layout.consoleLog)}`
    : `file,id=console,path=${escapeOptionValue(layout.consoleLog)}`;
  return [
    '-chardev', console, '-serial', 'chardev:console',
    '-chardev', `file,id=firmware,path=${escapeOptionValue(layout.firmwareLog)}`, '-device', 'isa-debugcon,iobase=0x402,chardev=firmware',
  ];
}

function controlSection({ layout }: QemuCommandInput): string[] {
  return ['-chardev', `socket,id=qmp,path=${escapeOptionValue(layout.qmpSocket)},server=on,wait=off`, '-mon', 'chardev=qmp,mode=control'];
}

function bootSection({ boot }: QemuCommandInput): string[] {
  return boot.qemuArgs;
}

function diskSection({ rootDisk, options }: QemuCommandInput): string[] {
  if (!rootDisk) return [];
  const { path, format } = rootDisk;
  return [
    '-drive', `if=none,id=root,file=${escapeOptionValue(path)},format=${format},discard=${discardMode(options)},cache=unsafe`,
    '-device', `virtio-blk-pci,drive=root,bootindex=1,${pciAddress('rootDisk')}`,
  ];
}

function virtiofsSection({ virtiofs }: QemuCommandInput): string[] {
  return virtiofs?.qemuArgs ?? [];
}

/** Credentials are passed by file so that their values never appear in `ps` output. */
function credentialSection({ smbiosFiles }: QemuCommandInput): string[] {
  return smbiosFiles.flatMap((file) => ['-smbios', `type=11,path=${escapeOptionValue(file)}`]);
}

function roundUpToMiB(bytes: number): number {
  const mebibyte = 1024 ** 2;
  return Math.ceil(bytes / mebibyte) * mebibyte;
}
