/**
 * The part of option validation that reads files: every path must name a readable file, a declared
 * disk image format must match the file's first bytes, and loadCredential's files are measured.
 */
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import type { OptionProblem } from '../errors.js';
import type { ResolvedMachineOptions } from './resolve-options.js';

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]); // "QFI\xfb"

/** One problem per path in the options that does not name a readable file. */
export async function findPathProblems(options: ResolvedMachineOptions): Promise<OptionProblem[]> {
  const files: Array<[option: string, path: string]> = [];
  if (options.linux) files.push(['linux', options.linux]);
  options.initrds.forEach((initrd, index) => files.push([options.initrds.length > 1 ? `initrd[${index}]` : 'initrd', initrd]));
  if (options.image) files.push(['image', options.image]);
  options.extraDrives.forEach((drive, index) => files.push([`extraDrives[${index}]`, drive.path]));
  for (const [name, path] of Object.entries(options.loadCredential)) files.push([`loadCredential.${name}`, path]);

  return (await Promise.all(files.map(([option, path]) => checkReadableFile(option, path)))).filter(
    (problem): problem is OptionProblem => problem !== undefined,
  );
}

async function checkReadableFile(option: string, path: string): Promise<OptionProblem | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile() && !info.isBlockDevice()) return { option, message: `${path} is not a file` };
    await access(path, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { option, message: `file not found: ${path}` };
    if (code === 'EACCES') return { option, message: `file not readable: ${path}` };
    return { option, message: `cannot use ${path}: ${(error as Error).message}` };
  }
}

/** Reads the disk image format from the file's magic bytes. */
export async function detectImageFormat(path: string): Promise<'raw' | 'qcow2'> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(QCOW2_MAGIC.length);
    await file.read(header, 0, header.length, 0);
    return header.equals(QCOW2_MAGIC) ? 'qcow2' : 'raw';
  } finally {
    await file.close();
  }
}

export type ImageFormatCheck = { format: 'raw' | 'qcow2' } | { problem: OptionProblem };

/**
 * The image's format: read from the file for 'auto', otherwise the declared one, which must match the file.
 * `option` names the setting in problems (`imageFormat`, or an extra drive's `format`).
 */
export async function checkImageFormat(path: string, declared: 'auto' | 'raw' | 'qcow2', option = 'imageFormat'): Promise<ImageFormatCheck> {
  const detected = await detectImageFormat(path);
  if (declared === 'auto' || declared === detected) return { format: detected };
  const setting = option.split('.').at(-1);
  const message =
    declared === 'raw'
      ? `is 'raw', but ${path} is a qcow2 image (it starts with the qcow2 magic "QFI\\xfb"): attached as raw, the guest would see the qcow2 container instead of its disk; set ${setting}: 'qcow2' or 'auto'`
      : `is 'qcow2', but ${path} does not start with the qcow2 magic "QFI\\xfb", so it is not a qcow2 image: set ${setting}: 'raw' or 'auto'`;
  return { problem: { option, message } };
}

/** Sizes of loadCredential's files by credential name (files that cannot be read are left out). */
export async function credentialFileSizes(loadCredential: Readonly<Record<string, string>>): Promise<Record<string, number>> {
  const sizes = await Promise.all(
    Object.entries(loadCredential).map(async ([name, path]) => [name, await stat(path).then((info) => info.size, () => undefined)] as const),
  );
  return Object.fromEntries(sizes.filter((entry): entry is readonly [string, number] => entry[1] !== undefined));
}
