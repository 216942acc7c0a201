/**
 * Finding the host programs the engine runs, with install hints when one is missing.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { MissingToolError } from '../errors.js';

const INSTALL_HINTS: Record<string, string> = {
  'qemu-system-x86_64': 'Install QEMU: apt-get install qemu-system-x86 (Debian, Ubuntu) or dnf install qemu-system-x86-core (Fedora).',
  'qemu-img': 'Install the QEMU tools: apt-get install qemu-utils (Debian, Ubuntu) or dnf install qemu-img (Fedora).',
  'vhost-device-vsock':
    'It provides user-space vsock. Debian trixie and later: apt-get install vhost-device-vsock; elsewhere: cargo install vhost-device-vsock. ' +
    'In this repository, scripts/setup-host.sh installs it on Debian 12.',
  socat: 'It carries the host side of kernel vsock: apt-get install socat (Debian, Ubuntu) or dnf install socat (Fedora).',
  unshare: 'It is part of util-linux: apt-get install util-linux (Debian, Ubuntu) or dnf install util-linux-core (Fedora).',
};

/** The absolute path of `name` (searched on PATH and in `extraDirs`), or undefined. A path is checked as given. */
export async function findExecutable(name: string, extraDirs: readonly string[] = []): Promise<string | undefined> {
  const candidates = isAbsolute(name) || name.includes('/')
    ? [name]
    : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs].map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Like {@link findExecutable}, but throws {@link MissingToolError} with an install hint. */
export async function requireExecutable(name: string): Promise<string> {
  const found = await findExecutable(name);
  if (found) return found;
  throw new MissingToolError(name, INSTALL_HINTS[name.split('/').pop() ?? name] ?? 'Install it or put it on PATH.');
}
