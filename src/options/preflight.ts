/**
 * Validate fully, then start: everything about the options that needs the file system or the host,
 * checked together before anything is spawned (the KVM probe included), so that one error lists every
 * problem. Pure checks already ran when the options were resolved.
 */
import { InvalidOptionsError, type OptionProblem } from '../errors.js';
import type { FirmwareDescriptor } from '../host/firmware-descriptors.js';
import { hostMemory } from '../host/host-memory.js';
import { requireExecutable } from '../host/tools.js';
import { checkArtifactsDir } from './check-artifacts-dir.js';
import { checkDirectoryAndBinds, type DirectoryKernel } from './check-directory.js';
import { checkDisks } from './check-disks.js';
import { checkFirmware, readKernelKind } from './check-firmware.js';
import { checkNetwork } from './check-network.js';
import { checkImageFormat, credentialFileSizes, findPathProblems } from './check-paths.js';
import { checkQemuBinary } from './check-qemu-binary.js';
import { checkRamFitsHost } from './check-ram.js';
import { checkTpm, type TpmChoice } from './check-tpm.js';
import type { KernelKind } from './pe-sections.js';
import { MACHINE_DEFAULTS, type ResolvedMachineOptions } from './resolve-options.js';
import { checkSmbiosCapacity, kernelArgsStringCount, userSmbiosStrings } from './smbios-capacity.js';

export interface PreflightResult {
  /** The QEMU binary's path. */
  qemuBinary: string;
  /** The disk image's format, read from the file when `imageFormat` is 'auto'. */
  imageFormat: 'raw' | 'qcow2' | undefined;
  /** What `linux` is: a unified kernel image or a plain kernel. */
  kernelKind: KernelKind | undefined;
  /** The UEFI firmware the machine boots with; undefined for direct kernel boot under SeaBIOS. */
  firmware: FirmwareDescriptor | undefined;
  /** Each extra drive's format, read from the file when its `format` is 'auto'. */
  extraDriveFormats: Array<'raw' | 'qcow2'>;
  /** Whether the machine gets a software TPM, and the programs for it. */
  tpm: TpmChoice;
  /** The kernel of `directory` from its boot entries, when `linux` is not given. */
  directoryKernel: DirectoryKernel | undefined;
}

/**
 * Checks the options against the host and files. Throws {@link InvalidOptionsError} listing every
 * problem, or MissingToolError when QEMU is not installed at all.
 */
export async function preflight(options: ResolvedMachineOptions, signal?: AbortSignal): Promise<PreflightResult> {
  const pathProblems = await findPathProblems(options);
  const unreadable = new Set(pathProblems.map((problem) => problem.option));

  // The kernel decides the boot path: linux, or the default boot entry of a directory tree.
  const directory = await checkDirectoryAndBinds(options);
  const kind = options.linux === undefined || unreadable.has('linux') ? directory.kernel?.kind : await readKernelKind(options.linux);
  const [image, smbiosProblems, artifactsProblem, qemu, ramProblem, firmware, tpm] = await Promise.all([
    options.image === undefined || unreadable.has('image') ? undefined : checkImageFormat(options.image, options.imageFormat),
    credentialFileSizes(options.loadCredential).then((sizes) =>
      checkSmbiosCapacity(userSmbiosStrings(options, sizes, kernelArgsStringCount(options, kind)), options.ramBytes),
    ),
    options.artifactsDir === undefined ? undefined : checkArtifactsDir(options.artifactsDir, { signal }),
    checkQemu(options.qemuBinary),
    hostMemory().then((host) => checkRamFitsHost(options.ramBytes, host)),
    unreadable.has('linux') ? { firmware: undefined } : checkFirmware(options, kind),
    checkTpm(options),
  ]);

  const imageFormat = image && 'format' in image ? image.format : undefined;
  const [disks, networkProblem] = await Promise.all([checkDisks(options, unreadable, imageFormat), checkNetwork(options.network)]);

  const problems: OptionProblem[] = [
    ...pathProblems,
    ...(image && 'problem' in image ? [image.problem] : []),
    ...disks.problems,
    ...(networkProblem ? [networkProblem] : []),
    // Guest memory beyond the host's is the clearer message for a size SMBIOS cannot describe either.
    ...smbiosProblems.filter((problem) => !(ramProblem && problem.option === 'ram')),
    ...(artifactsProblem ? [artifactsProblem] : []),
    ...('problem' in qemu ? [qemu.problem] : []),
    ...(ramProblem ? [ramProblem] : []),
    ...('problem' in firmware ? [firmware.problem] : []),
    ...('problems' in tpm ? tpm.problems : []),
    ...directory.problems,
  ];
  if (problems.length > 0) throw new InvalidOptionsError(problems);
  return {
    qemuBinary: 'path' in qemu ? qemu.path : options.qemuBinary,
    imageFormat,
    extraDriveFormats: disks.extraDriveFormats.map((format) => format ?? 'raw'),
    kernelKind: kind,
    firmware: 'firmware' in firmware ? firmware.firmware : undefined,
    tpm: 'tpm' in tpm ? tpm.tpm : { binaries: undefined, reason: 'TPM: none' },
    directoryKernel: directory.kernel,
  };
}

/** QEMU not installed at all is a host problem with an install hint, not an option problem. */
async function checkQemu(binary: string): ReturnType<typeof checkQemuBinary> {
  if (binary === MACHINE_DEFAULTS.qemuBinary) await requireExecutable(binary);
  return checkQemuBinary(binary);
}

