/**
 * The `qemuBinary` option, checked before anything is started: the path must name an executable
 * file, and that file must be QEMU, which is asked once per binary and process with `--version`.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { execa } from 'execa';
import type { OptionProblem } from '../errors.js';
import { findExecutable } from '../host/tools.js';

/** How long `<binary> --version` may take. */
export const VERSION_QUERY_TIMEOUT_MS = 5_000;

/** What every QEMU system emulator prints first for `--version`. */
const QEMU_VERSION_BANNER = /QEMU emulator version/;

export type QemuBinaryCheck = { path: string } | { problem: OptionProblem };

/** Finds `binary` (a path, or a name on PATH) and checks that it is an executable QEMU. */
export async function checkQemuBinary(binary: string, option = 'qemuBinary'): Promise<QemuBinaryCheck> {
  const problem = (message: string): QemuBinaryCheck => ({ problem: { option, message } });
  const isPath = binary.includes('/');
  const path = isPath ? binary : await findExecutable(binary);
  if (path === undefined) return problem(`${binary} was not found on PATH: give the path of QEMU's system emulator, e.g. /usr/bin/qemu-system-x86_64`);

  const notExecutable = await describeNotExecutable(path);
  if (notExecutable) return problem(notExecutable);
  const notQemu = await describeNotQemu(path);
  return notQemu ? problem(notQemu) : { path };
}

async function describeNotExecutable(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return `${path} is a directory, not a program: name QEMU's system emulator inside it, e.g. ${path.replace(/\/$/, '')}/qemu-system-x86_64`;
    if (!info.isFile()) return `${path} is not a regular file, so it cannot be QEMU`;
    try {
      await access(path, constants.X_OK);
    } catch {
      return `${path} is not executable (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}): make it executable (chmod +x) or name another binary`;
    }
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${path} does not exist`;
    if (code === 'ENOTDIR') return `${path} does not exist: a part of the path is a file, not a directory`;
    if (code === 'EACCES') return `${path} cannot be reached: permission denied on a directory of the path`;
    return `${path} cannot be used (${code})`;
  }
}

const versionChecks = new Map<string, Promise<string | undefined>>();

/** Why `path` is not QEMU, or undefined when its `--version` says it is; asked once per path and process. */
export function describeNotQemu(path: string): Promise<string | undefined> {
  let check = versionChecks.get(path);
  if (!check) {
    check = askVersion(path);
    versionChecks.set(path, check);
  }
  return check;
}

async function askVersion(path: string): Promise<string | undefined> {
  const result = await execa(path, ['--version'], { reject: false, timeout: VERSION_QUERY_TIMEOUT_MS, all: true, stdin: 'ignore' });
  const output = result.all?.trim() ?? '';
  if (QEMU_VERSION_BANNER.test(output)) return undefined;
  const expected = 'expected "QEMU emulator version …": name QEMU\'s system emulator, e.g. qemu-system-x86_64';
  if (result.timedOut) return `${path} is not QEMU: "${path} --version" did not finish within ${VERSION_QUERY_TIMEOUT_MS / 1000} s; ${expected}`;
  const firstLine = output.split('\n')[0]?.slice(0, 120);
  const said = firstLine ? `printed "${firstLine}"` : 'printed nothing';
  const ended = result.failed && result.exitCode === undefined ? ` and could not run (${result.shortMessage ?? 'unknown error'})` : '';
  return `${path} is not QEMU: "${path} --version" ${said}${ended}; ${expected}`;
}
