/**
 * Finding virtiofsd and telling which one it is. Two programs go by that name and take different
 * arguments: QEMU's original C daemon (QEMU ≤ 8.0, e.g. `/usr/lib/qemu/virtiofsd` on Debian 12:
 * `--socket-path=… -o source=DIR`) and its Rust successor (`virtiofsd` package:
 * `--socket-path … --shared-dir DIR`). They are looked for where systemd-vmspawn looks (PATH,
 * /usr/libexec, /usr/lib), and in QEMU's helper directory /usr/lib/qemu.
 */
import { execa } from 'execa';
import { MissingToolError, VmspawnError } from '../errors.js';
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import { USER_NAMESPACE_ARGS, type VirtiofsdBinary, type VirtiofsdDialect } from '../plan/virtiofs-plan.js';
import { findExecutable, requireExecutable } from './tools.js';
import { requireUserNamespace } from './user-namespace.js';

export const VIRTIOFSD_DIRS = ['/usr/libexec', '/usr/lib', '/usr/lib/qemu'] as const;

const INSTALL_HINT =
  'It shares directories with the guest (directory, bind, bindReadOnly). Debian 13 and later, Ubuntu, Fedora: ' +
  'install the virtiofsd package; Debian 12 ships QEMU\'s own at /usr/lib/qemu/virtiofsd (package qemu-system-common).';

/** The dialect a `--help` text shows, or undefined when it looks like neither. */
export function virtiofsdDialect(helpText: string): VirtiofsdDialect | undefined {
  if (helpText.includes('--shared-dir')) return 'rust';
  if (/-o source=/.test(helpText)) return 'legacy';
  return undefined;
}

let located: Promise<VirtiofsdBinary> | undefined;

/** The virtiofsd to run and its dialect (asked once per process). Throws MissingToolError when there is none. */
export function findVirtiofsd(): Promise<VirtiofsdBinary> {
  located ??= locate();
  located.catch(() => {
    located = undefined; // installed meanwhile: look again next time
  });
  return located;
}

async function locate(): Promise<VirtiofsdBinary> {
  const path = await findExecutable('virtiofsd', VIRTIOFSD_DIRS);
  if (!path) throw new MissingToolError('virtiofsd', INSTALL_HINT);
  // QEMU's C virtiofsd calls setgroups() before anything else, even for --help, which fails without
  // root outside a user namespace.
  const [command, ...args] = process.getuid?.() === 0 ? [path, '--help'] : ['unshare', ...USER_NAMESPACE_ARGS, path, '--help'];
  const help = await execa(command!, args, { reject: false, all: true, timeout: 10_000, stdin: 'ignore' });
  const dialect = virtiofsdDialect(help.all ?? '');
  if (!dialect) {
    throw new VmspawnError(`${path} --help shows neither --shared-dir (Rust virtiofsd) nor -o source= (QEMU's C virtiofsd); cannot tell how to run it.`);
  }
  return { path, dialect };
}

/** The programs the options' shared directories need: none without `directory` or binds. */
export async function virtiofsBinaries(
  options: ResolvedMachineOptions,
): Promise<{ virtiofsd?: VirtiofsdBinary; unshare?: string; virtiofsInUserNamespace?: boolean }> {
  if (options.directory === undefined && options.binds.length === 0) return {};
  if (process.getuid?.() !== 0) {
    // Both virtiofsd sandbox themselves with namespaces and mounts: without root they run as root of a user namespace.
    await requireUserNamespace('Sharing directories with the guest (directory, bind, bindReadOnly)');
    const unshare = await requireExecutable('unshare');
    return { virtiofsd: await findVirtiofsd(), unshare, virtiofsInUserNamespace: true };
  }
  const virtiofsd = await findVirtiofsd();
  const needsNamespace = (options.directory !== undefined && options.ephemeral) || options.binds.some((bind) => bind.readOnly);
  return needsNamespace ? { virtiofsd, unshare: await requireExecutable('unshare') } : { virtiofsd };
}
