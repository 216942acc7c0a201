/**
 * Validate fully, then start: everything about the options that needs the file system or the host,
 * checked together before anything is spawned (the KVM probe included), so that one error lists every
 * problem. Pure checks already ran when the options were resolved.
 */
import { InvalidOptionsError, type OptionProblem } from '../errors.js';
import { hostMemory } from '../host/host-memory.js';
import { requireExecutable } from '../host/tools.js';
import { checkArtifactsDir } from './check-artifacts-dir.js';
import { checkDirectoryAndBinds, type DirectoryKernel } from './check-directory.js';
import { checkImageFormat, credentialFileSizes, findPathProblems } from './check-paths.js';
import { checkQemuBinary } from './check-qemu-binary.js';
import { checkRamFitsHost } from './check-ram.js';
import { MACHINE_DEFAULTS, type ResolvedMachineOptions } from './resolve-options.js';
import { checkSmbiosCapacity, userSmbiosStrings } from './smbios-capacity.js';

export interface PreflightResult {
  /** The QEMU binary's path. */
  qemuBinary: string;
  /** The disk image's format, read from the file when `imageFormat` is 'auto'. */
  imageFormat: 'raw' | 'qcow2' | undefined;
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

  const [image, smbiosProblems, artifactsProblem, qemu, ramProblem, directory] = await Promise.all([
    options.image === undefined || unreadable.has('image') ? undefined : checkImageFormat(options.image, options.imageFormat),
    credentialFileSizes(options.loadCredential).then((sizes) => checkSmbiosCapacity(userSmbiosStrings(options, sizes), options.ramBytes)),
    options.artifactsDir === undefined ? undefined : checkArtifactsDir(options.artifactsDir, { signal }),
    checkQemu(options.qemuBinary),
    hostMemory().then((host) => checkRamFitsHost(options.ramBytes, host)),
    checkDirectoryAndBinds(options),
  ]);

  const problems: OptionProblem[] = [
    ...pathProblems,
    ...(image && 'problem' in image ? [image.problem] : []),
    // Guest memory beyond the host's is the clearer message for a size SMBIOS cannot describe either.
    ...smbiosProblems.filter((problem) => !(ramProblem && problem.option === 'ram')),
    ...(artifactsProblem ? [artifactsProblem] : []),
    ...('problem' in qemu ? [qemu.problem] : []),
    ...(ramProblem ? [ramProblem] : []),
    ...directory.problems,
  ];
  if (problems.length > 0) throw new InvalidOptionsError(problems);
  return {
    qemuBinary: 'path' in qemu ? qemu.path : options.qemuBinary,
    imageFormat: image && 'format' in image ? image.format : undefined,
    directoryKernel: directory.kernel,
  };
}

/** QEMU not installed at all is a host problem with an install hint, not an option problem. */
async function checkQemu(binary: string): ReturnType<typeof checkQemuBinary> {
  if (binary === MACHINE_DEFAULTS.qemuBinary) await requireExecutable(binary);
  return checkQemuBinary(binary);
}

