/**
 * The part of option validation that needs the file system: every path must name a readable
 * file, and the disk image format is read from the file's first bytes.
 */
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { InvalidOptionsError, type OptionProblem } from '../errors.js';
import type { ResolvedMachineOptions } from './resolve-options.js';

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]); // "QFI\xfb"

/** Checks every path in the options; throws {@link InvalidOptionsError} listing each missing file. */
export async function checkOptionPaths(options: ResolvedMachineOptions): Promise<void> {
  const files: Array<[option: string, path: string]> = [];
  if (options.linux) files.push(['linux', options.linux]);
  options.initrds.forEach((initrd, index) => files.push([options.initrds.length > 1 ? `initrd[${index}]` : 'initrd', initrd]));
  if (options.image) files.push(['image', options.image]);
  for (const [name, path] of Object.entries(options.loadCredential)) files.push([`loadCredential.${name}`, path]);

  const problems = (await Promise.all(files.map(([option, path]) => checkReadableFile(option, path)))).filter(
    (problem): problem is OptionProblem => problem !== undefined,
  );
  if (problems.length > 0) throw new InvalidOptionsError(problems);
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
