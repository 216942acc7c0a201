/**
 * The part of option validation that reads kernels and firmware descriptors: what `linux` is (a UKI or a
 * plain kernel), whether the machine boots through UEFI, and which firmware, with a problem naming the
 * option when none fits.
 */
import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import type { OptionProblem } from '../errors.js';
import { firmwareDescriptorDirs, listFirmware, readFirmwareDescriptor, type FirmwareDescriptor } from '../host/firmware-descriptors.js';
import { bootsWithUefi } from '../plan/boot-plan.js';
import { chooseFirmware } from '../plan/firmware-choice.js';
import { kernelKind, PE_HEADER_BYTES, type KernelKind } from './pe-sections.js';
import type { ResolvedMachineOptions } from './resolve-options.js';

/** Reads the start of the kernel file to tell a unified kernel image from a plain kernel. */
export async function readKernelKind(path: string): Promise<KernelKind> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(PE_HEADER_BYTES);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return kernelKind(head.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

export type FirmwareCheck = { firmware: FirmwareDescriptor | undefined } | { problem: OptionProblem };

/** The firmware the machine boots with (undefined for direct kernel boot under SeaBIOS), or why there is none. */
export async function checkFirmware(
  options: Pick<ResolvedMachineOptions, 'linux' | 'image' | 'firmware' | 'secureBoot'>,
  kind: KernelKind | undefined,
  dirs: readonly string[] = firmwareDescriptorDirs(),
): Promise<FirmwareCheck> {
  if (!bootsWithUefi(options, kind)) {
    if (options.secureBoot !== true) return { firmware: undefined };
    return {
      problem: {
        option: 'secureBoot',
        message: 'is true, but this machine boots a plain kernel directly, without UEFI firmware: boot an image or a UKI, or give firmware too',
      },
    };
  }
  const chosen = options.firmware === undefined ? await discovered(options.secureBoot, dirs) : await given(options.firmware, options.secureBoot);
  if ('problem' in chosen) return chosen;
  const unreadable = await firstUnreadable([chosen.firmware.code.path, chosen.firmware.varsTemplate.path]);
  if (unreadable) {
    return { problem: { option: 'firmware', message: `${chosen.firmware.path} names ${unreadable}, which cannot be read: is the firmware package complete?` } };
  }
  return chosen;
}

type Chosen = { firmware: FirmwareDescriptor } | { problem: OptionProblem };

async function given(path: string, secureBoot: ResolvedMachineOptions['secureBoot']): Promise<Chosen> {
  const read = await readFirmwareDescriptor(path);
  if ('problem' in read) return { problem: { option: 'firmware', message: `${path}: ${read.problem}` } };
  const secure = read.descriptor.features.includes('secure-boot');
  if (secureBoot !== 'auto' && secure !== secureBoot) {
    return {
      problem: {
        option: 'secureBoot',
        message: `is ${secureBoot}, but the firmware ${path} ${secure ? 'has' : 'lacks'} the secure-boot feature: drop secureBoot or give other firmware`,
      },
    };
  }
  return { firmware: read.descriptor };
}

async function discovered(secureBoot: ResolvedMachineOptions['secureBoot'], dirs: readonly string[]): Promise<Chosen> {
  const found = await listFirmware(dirs);
  const choice = chooseFirmware(found, secureBoot);
  if ('firmware' in choice) return choice;
  const where = `looked in ${dirs.join(', ')}`;
  if (found.length === 0) {
    return {
      problem: {
        option: 'firmware',
        message: `this machine boots through UEFI (an image without linux, or a UKI), but ${choice.problem} (${where}): install OVMF (Debian: apt install ovmf) or give firmware`,
      },
    };
  }
  return { problem: { option: 'secureBoot', message: `is ${secureBoot}, but ${choice.problem} (${where})` } };
}

async function firstUnreadable(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path, constants.R_OK);
    } catch {
      return path;
    }
  }
  return undefined;
}
