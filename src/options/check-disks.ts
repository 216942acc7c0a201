/**
 * The file checks of the disk options: each extra drive's format (read from the file, or declared
 * and matching it), write access where the guest writes to the file itself, and a `growImage` that
 * does not shrink the root image. Readability is checked with every other path (check-paths.ts).
 */
import { constants } from 'node:fs';
import { access, open, readFile, stat } from 'node:fs/promises';
import type { OptionProblem } from '../errors.js';
import { checkImageFormat } from './check-paths.js';
import type { ResolvedMachineOptions } from './resolve-options.js';
import { describeBytes } from './size.js';

export interface DiskCheck {
  problems: OptionProblem[];
  /** Format of each extra drive, read from the file; undefined where it could not be read. */
  extraDriveFormats: Array<'raw' | 'qcow2' | undefined>;
}

/**
 * `unreadable` holds the options whose files cannot be read (already reported): they are not
 * looked at again. `imageFormat` is the root image's format, when known.
 */
export async function checkDisks(
  options: ResolvedMachineOptions,
  unreadable: ReadonlySet<string>,
  imageFormat: 'raw' | 'qcow2' | undefined,
): Promise<DiskCheck> {
  const drives = await Promise.all(
    options.extraDrives.map(async (drive, index) => {
      const option = `extraDrives[${index}]`;
      if (unreadable.has(option)) return { problems: [], format: undefined };
      const format = await checkImageFormat(drive.path, drive.format, `${option}.format`);
      const problems = 'problem' in format ? [format.problem] : [];
      if (!drive.readOnly && !drive.ephemeral) {
        const denied = await access(drive.path, constants.W_OK).then(() => false, () => true);
        if (denied) {
          problems.push({
            option,
            message: `ephemeral: false writes to ${drive.path}, which is not writable: make it writable, or leave ephemeral on (writes go to a throwaway overlay), or set readOnly: true`,
          });
        }
      }
      return { problems, format: 'format' in format ? format.format : undefined };
    }),
  );
  const problems = drives.flatMap((drive) => drive.problems);
  if (options.image && options.growImageBytes !== undefined && imageFormat && !unreadable.has('image')) {
    const size = await virtualSize(options.image, imageFormat);
    if (size !== undefined && options.growImageBytes < size) {
      problems.push({
        option: 'growImage',
        message: `${describeBytes(options.growImageBytes)} is smaller than the image ${options.image} (${describeBytes(size)}, ${size} bytes): growImage only grows; give at least ${size} bytes, or drop it`,
      });
    }
  }
  return { problems, extraDriveFormats: drives.map((drive) => drive.format) };
}

/** The size of the disk a guest sees: a raw file's (or block device's) size, or the size in a qcow2 header. */
export async function virtualSize(path: string, format: 'raw' | 'qcow2'): Promise<number | undefined> {
  if (format === 'qcow2') {
    const file = await open(path, 'r');
    try {
      // qcow2 header: magic (4), version (4), backing file offset (8), its size (4), cluster bits (4), size (8, big-endian).
      const header = Buffer.alloc(32);
      const { bytesRead } = await file.read(header, 0, header.length, 0);
      return bytesRead === header.length ? Number(header.readBigUInt64BE(24)) : undefined;
    } finally {
      await file.close();
    }
  }
  const info = await stat(path);
  if (info.isFile()) return info.size;
  // A block device's size is in sysfs, in 512-byte sectors.
  const major = Math.floor(info.rdev / 256) & 0xfff;
  const minor = (info.rdev & 0xff) | ((info.rdev >> 12) & 0xfff00);
  const sectors = await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8').then(Number, () => Number.NaN);
  return Number.isFinite(sectors) ? sectors * 512 : undefined;
}
