/**
 * Options → plan: everything a machine needs, decided without touching the system. The plan
 * names the files to write, the helper daemon and QEMU to start and their exact arguments, so
 * tests can inspect it and the runtime only carries it out.
 */
import { join } from 'node:path';
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import { planCredentials, type GuestPorts, type GuestSshKeys, type PlannedCredential } from './credentials.js';
import type { HelperBinaries, PlannedHelper } from './helper-plan.js';
import type { MachineLayout } from './machine-layout.js';
import { kernelCommandLine, qemuArguments, type Accelerator, type BootFiles } from './qemu-command.js';
import { planVirtiofs, withFstabLines, type VirtiofsPlan } from './virtiofs-plan.js';
import { planVsock, type VsockPlan, type VsockTransportKind } from './vsock-plan.js';

export interface MachinePlanInput {
  options: ResolvedMachineOptions;
  accelerator: Accelerator;
  layout: MachineLayout;
  ports: GuestPorts;
  /** Keys for SSH, when `options.ssh` is on. */
  ssh: GuestSshKeys | undefined;
  /** Format of `options.image`, read from the file. */
  imageFormat: 'raw' | 'qcow2' | undefined;
  vsock: VsockTransportKind;
  /** Paths of the helper daemons the options need. */
  binaries: HelperBinaries;
  /** The kernel (and initrds) of `options.directory` from its boot entries, when `options.linux` is not given. */
  directoryKernel?: { linux: string; initrds: string[] } | undefined;
}

/** One SMBIOS type 11 string, written to its own 0600 file. */
export interface PlannedSmbiosFile {
  path: string;
  content: { credential: PlannedCredential } | { raw: string };
}

export interface MachinePlan {
  qemu: { binary: string; args: string[] };
  vsock: VsockPlan;
  /** Directories shared over virtiofs (`directory`, `bind`, `bindReadOnly`). */
  virtiofs: VirtiofsPlan;
  /** Daemons to start, in this order, before QEMU; they are stopped after QEMU exits. */
  helpers: PlannedHelper[];
  smbiosFiles: PlannedSmbiosFile[];
  /** Initrds to concatenate into `layout.mergedInitrd` before QEMU starts (empty when not needed). */
  initrdParts: string[];
  /** The throwaway overlay to create over the user's disk image. */
  overlay: { base: string; baseFormat: 'raw' | 'qcow2'; path: string } | undefined;
  /** The kernel command line, for direct kernel boot. */
  kernelCommandLine: string | undefined;
  ports: GuestPorts;
}

export function planMachine(input: MachinePlanInput): MachinePlan {
  const { options, layout } = input;
  const virtiofs = planVirtiofs({
    directory: options.directory,
    ephemeral: options.ephemeral,
    binds: options.binds,
    layout,
    virtiofsd: input.binaries.virtiofsd,
    unshare: input.binaries.unshare,
  });
  const credentials = withFstabLines(planCredentials(options, input.ports, options.ssh ? input.ssh : undefined), virtiofs.fstabLines);
  const smbiosFiles: PlannedSmbiosFile[] = [
    ...credentials.map((credential) => ({ credential })),
    ...options.smbios11.map((raw) => ({ raw })),
  ].map((content, index) => ({ path: join(layout.credentialsDir, `${String(index).padStart(2, '0')}.smbios`), content }));

  // A directory's boot entry supplies kernel and initrds unless linux is given.
  const kernel = options.linux ?? input.directoryKernel?.linux;
  const initrds = options.linux === undefined ? (input.directoryKernel?.initrds ?? []) : options.initrds;
  const initrdParts = initrds.length > 1 ? initrds : [];
  const overlay = options.image
    ? { base: options.image, baseFormat: input.imageFormat ?? 'raw', path: layout.overlay }
    : undefined;
  const boot: BootFiles = {
    kernel,
    initrd: initrdParts.length > 0 ? layout.mergedInitrd : initrds[0],
    rootDisk: overlay ? { path: overlay.path, format: 'qcow2' } : undefined,
  };
  const commandLine = kernel ? [kernelCommandLine(options), ...virtiofs.kernelArgs].join(' ') : undefined;
  const vsock = planVsock(input.vsock, layout, input.binaries.vhostDeviceVsock);

  return {
    qemu: {
      binary: options.qemuBinary,
      args: qemuArguments({
        options,
        accelerator: input.accelerator,
        layout,
        boot,
        kernelCommandLine: commandLine ?? '',
        smbiosFiles: smbiosFiles.map((file) => file.path),
        vsock,
        virtiofs,
      }),
    },
    vsock,
    virtiofs,
    helpers: [...(vsock.daemon ? [vsock.daemon] : []), ...virtiofs.helpers],
    smbiosFiles,
    initrdParts,
    overlay,
    kernelCommandLine: commandLine,
    ports: input.ports,
  };
}
