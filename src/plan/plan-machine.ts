/**
 * Options → plan: everything a machine needs, decided without touching the system. The plan
 * names the files to write, the helper daemon and QEMU to start and their exact arguments, so
 * tests can inspect it and the runtime only carries it out.
 */
import { join } from 'node:path';
import type { FirmwareDescriptor } from '../host/firmware-descriptors.js';
import type { KernelKind } from '../options/pe-sections.js';
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import { planBoot, type BootPlan } from './boot-plan.js';
import { planCredentials, type GuestPorts, type GuestSshKeys, type PlannedCredential } from './credentials.js';
import { planExtraDrives, planRootOverlay, type PlannedOverlay } from './disk-plan.js';
import type { HelperBinaries, PlannedHelper } from './helper-plan.js';
import type { MachineLayout } from './machine-layout.js';
import { planNetwork } from './network-plan.js';
import { qemuArguments, type Accelerator } from './qemu-command.js';
import { planTpm, type TpmPlan } from './tpm-plan.js';
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
  /** What `options.linux` is, read from the file. */
  kernelKind: KernelKind | undefined;
  /** The UEFI firmware chosen for the machine, when it boots through UEFI. */
  firmware: FirmwareDescriptor | undefined;
  /** Format of each of `options.extraDrives`, read from the files (raw when not given). */
  extraDriveFormats?: ReadonlyArray<'raw' | 'qcow2'>;
  vsock: VsockTransportKind;
  /** The guest's vsock CID (see planVsock); kernel vsock needs one. */
  vsockCid?: number | undefined;
  /** Paths of the helper daemons the options need. */
  binaries: HelperBinaries;
  /** The kernel (and initrds) of `options.directory` from its boot entries, when `options.linux` is not given. */
  directoryKernel?: { linux: string; initrds: string[]; kind: KernelKind } | undefined;
}

/** One SMBIOS type 11 string, written to its own 0600 file. */
export interface PlannedSmbiosFile {
  path: string;
  content: { credential: PlannedCredential } | { raw: string };
}

export interface MachinePlan {
  qemu: { binary: string; args: string[] };
  vsock: VsockPlan;
  /** The software TPM, when the machine gets one. */
  tpm: TpmPlan | undefined;
  /** Directories to create (0700, with missing parents) before the helpers start. */
  directories: string[];
  /** Directories shared over virtiofs (`directory`, `bind`, `bindReadOnly`). */
  virtiofs: VirtiofsPlan;
  /** Daemons to start, in this order, before QEMU; they are stopped after QEMU exits. */
  helpers: PlannedHelper[];
  smbiosFiles: PlannedSmbiosFile[];
  /** Initrds to concatenate into `layout.mergedInitrd` before QEMU starts (empty when not needed). */
  initrdParts: string[];
  /** The throwaway overlay to create over the user's disk image (grown to `growImage`). */
  overlay: PlannedOverlay | undefined;
  /** Throwaway overlays over the ephemeral extra drives. */
  extraDriveOverlays: PlannedOverlay[];
  /** How the guest boots: machine type, firmware (and its NVRAM copy), kernel and command line. */
  boot: BootPlan;
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
    userNamespace: input.binaries.virtiofsInUserNamespace,
  });
  // A directory's boot entry supplies kernel and initrds unless linux is given.
  const kernel = options.linux ?? input.directoryKernel?.linux;
  const initrds = options.linux === undefined ? (input.directoryKernel?.initrds ?? []) : options.initrds;
  const initrdParts = initrds.length > 1 ? initrds : [];
  const vsock = planVsock(input.vsock, layout, input.binaries.vhostDeviceVsock, input.vsockCid, options);
  const boot = planBoot(
    {
      linux: kernel,
      initrd: initrdParts.length > 0 ? layout.mergedInitrd : initrds[0],
      image: options.image,
      // The root arguments of a directory come last, so that no root= of the user's replaces them.
      kernelArgs: [...(vsock.control?.kernelArgs ?? []), ...options.kernelArgs, ...virtiofs.kernelArgs],
      kernelKind: options.linux === undefined ? input.directoryKernel?.kind : input.kernelKind,
      firmware: input.firmware,
    },
    layout,
  );
  const network = planNetwork(options);
  const credentials = withFstabLines(
    [
      ...planCredentials(options, input.ports, options.ssh ? input.ssh : undefined, vsock.control),
      ...Object.entries(network.credentials).map(([name, value]) => ({ name, value: new TextEncoder().encode(value) })),
    ],
    virtiofs.fstabLines,
  );
  const smbiosFiles: PlannedSmbiosFile[] = [
    ...credentials.map((credential) => ({ credential })),
    ...boot.smbiosStrings.map((raw) => ({ raw })),
    ...options.smbios11.map((raw) => ({ raw })),
  ].map((content, index) => ({ path: join(layout.credentialsDir, `${String(index).padStart(2, '0')}.smbios`), content }));

  const overlay = planRootOverlay(options, input.imageFormat, layout);
  const extraDrives = planExtraDrives(options, input.extraDriveFormats ?? [], layout);
  const tpm = planTpm(input.binaries.tpm, options.tpmStateDir, layout);

  return {
    qemu: {
      binary: options.qemuBinary,
      args: qemuArguments({
        options,
        accelerator: input.accelerator,
        layout,
        boot,
        rootDisk: overlay ? { path: overlay.path, format: 'qcow2' } : undefined,
        smbiosFiles: smbiosFiles.map((file) => file.path),
        vsock,
        extraDrives,
        network,
        tpm,
        virtiofs,
      }),
    },
    vsock,
    tpm,
    virtiofs,
    directories: tpm ? [tpm.stateDir] : [],
    helpers: [...(vsock.daemon ? [vsock.daemon] : []), ...(tpm ? [tpm.daemon] : []), ...virtiofs.helpers],
    smbiosFiles,
    initrdParts,
    overlay,
    boot,
    extraDriveOverlays: extraDrives.overlays,
    ports: input.ports,
  };
}
