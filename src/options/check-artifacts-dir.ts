/**
 * The artifacts directory, checked before anything is started: it must not lie in a kernel file
 * system (/proc, /sys, /dev), must not be a file, is created if missing, and must take a file (a
 * probe file is written and removed). Directories are created one level at a time: Node's recursive
 * mkdir spins forever on a path under /proc. The whole check is bounded in time and by the signal.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { WaitTimeoutError, type OptionProblem } from '../errors.js';
import { within } from '../util/within.js';

/** Kernel file systems: nothing there can hold artifacts, and creating directories in them misbehaves (/dev/shm excepted). */
export const KERNEL_FILE_SYSTEMS = ['/proc', '/sys', '/dev'] as const;

/** How long creating the directory and writing the probe file may take (a hung network file system). */
export const ARTIFACTS_DIR_CHECK_TIMEOUT_MS = 10_000;

export interface ArtifactsDirCheckOptions {
  /** The option named in the problem. */
  option?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Inside /dev, the one place meant for files: a tmpfs. */
const SHARED_MEMORY = '/dev/shm';

const isWithin = (path: string, root: string) => path === root || path.startsWith(`${root}/`);

/** The kernel file system `path` (absolute) lies in, if any. */
export function kernelFileSystemOf(path: string): string | undefined {
  if (isWithin(path, SHARED_MEMORY)) return undefined;
  return KERNEL_FILE_SYSTEMS.find((root) => isWithin(path, root));
}

/** The problem of an artifacts directory at `path` (absolute) inside a kernel file system; pure. */
export function kernelFileSystemProblem(path: string, option = 'artifactsDir'): OptionProblem | undefined {
  const kernelFileSystem = kernelFileSystemOf(path);
  if (!kernelFileSystem) return undefined;
  return { option, message: `${path} is inside ${kernelFileSystem}, a kernel file system that cannot hold files: choose a directory on a disk (e.g. test-results)` };
}

/**
 * Creates `dir` if needed and checks that a file can be written there. Resolves with the problem,
 * or undefined when the directory is usable; rejects only when `signal` aborts.
 */
export async function checkArtifactsDir(dir: string, { option = 'artifactsDir', signal, timeoutMs = ARTIFACTS_DIR_CHECK_TIMEOUT_MS }: ArtifactsDirCheckOptions = {}): Promise<OptionProblem | undefined> {
  const path = resolve(dir);
  const problem = (message: string): OptionProblem => ({ option, message });
  const inKernelFileSystem = kernelFileSystemProblem(path, option);
  if (inKernelFileSystem) return inKernelFileSystem;
  try {
    const message = await within(prepare(path), { timeout: timeoutMs, signal }, () => `${path} to be created`);
    return message === undefined ? undefined : problem(message);
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      return problem(`creating ${path} and writing a file there did not finish within ${timeoutMs / 1000} s (an unresponsive network file system?): choose a local directory`);
    }
    throw error;
  }
}

/** What is wrong with `path` as a directory for artifacts, or undefined once it exists and takes files. */
async function prepare(path: string): Promise<string | undefined> {
  const missing: string[] = [];
  let existing = path;
  for (;;) {
    const found = await statOrCode(existing);
    if (typeof found !== 'string') {
      if (!found.isDirectory()) {
        return existing === path
          ? `${path} exists and is not a directory: choose a directory (it is created if missing)`
          : `${existing} is a file, so ${path} cannot be created under it`;
      }
      break;
    }
    if (found !== 'ENOENT' && found !== 'ENOTDIR') return describeError(path, found);
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) return `none of ${path} exists`;
    existing = parent;
  }

  const kernelFileSystem = kernelFileSystemOf(await realpath(existing));
  if (kernelFileSystem) return `${path} leads into ${kernelFileSystem} (through a symbolic link), a kernel file system that cannot hold files: choose a directory on a disk`;

  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code !== 'EEXIST') return describeError(path, code, 'cannot be created');
    }
  }

  const probe = join(path, `.vitest-vmspawn-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '');
  } catch (error) {
    return describeError(path, (error as NodeJS.ErrnoException).code ?? 'EIO', 'cannot take files');
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
  return undefined;
}

async function statOrCode(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

function describeError(path: string, code: string, what = 'cannot be used'): string {
  switch (code) {
    case 'EROFS':
      return `${path} ${what}: it is on a read-only file system; choose a writable directory`;
    case 'EACCES':
    case 'EPERM':
      return `${path} ${what}: permission denied (${code}); choose a directory this user may write to`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `${path} ${what}: no space left on its file system (${code})`;
    case 'ENOTDIR':
      return `${path} ${what}: a part of the path is a file, not a directory`;
    default:
      return `${path} ${what} (${code})`;
  }
}
