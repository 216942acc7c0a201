/**
 * The part of checking `directory`, `bind` and `bindReadOnly` that reads the file system: the
 * directories exist, the tree holds an OS, and (without `linux`) the tree's boot entry that names
 * the kernel. Paths inside the tree are resolved as the guest would see them: an absolute symlink
 * such as `/vmlinuz -> /boot/vmlinuz-6.12` points into the tree, never to the host's own files.
 */
import { constants } from 'node:fs';
import { access, lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OptionProblem } from '../errors.js';
import {
  BOOT_PARTITIONS,
  LOADER_CONF,
  loaderConfDefault,
  parseType1Entry,
  selectBootEntry,
  TYPE1_ENTRIES_DIR,
  UKI_DIR,
  ukiEntry,
  type BootEntry,
} from '../plan/boot-entries.js';
import type { KernelKind } from './pe-sections.js';
import type { ResolvedMachineOptions } from './resolve-options.js';

/** The kernel a `directory` boots when no `linux` is given: host paths, and the entry that named them. */
export interface DirectoryKernel {
  linux: string;
  initrds: string[];
  /** A Type #1 entry's kernel, or a Type #2 unified kernel image (booted through UEFI firmware). */
  kind: KernelKind;
  /** The entry's path inside the tree, e.g. `/boot/loader/entries/debian.conf`. */
  entry: string;
  /** The entry's `options`, which are not used (see boot-entries.ts). */
  ignoredOptions: string[];
}

export interface DirectoryCheck {
  problems: OptionProblem[];
  kernel: DirectoryKernel | undefined;
}

const OS_RELEASE = ['/etc/os-release', '/usr/lib/os-release'];
const MAX_SYMLINKS = 40;

export async function checkDirectoryAndBinds(options: ResolvedMachineOptions): Promise<DirectoryCheck> {
  const bindProblems = await Promise.all(
    options.binds.map((bind) => checkDirectoryExists(bind.option, bind.source, 'source directory')),
  );
  const problems = bindProblems.filter((problem): problem is OptionProblem => problem !== undefined);
  if (options.directory === undefined) return { problems, kernel: undefined };

  const tree = options.directory;
  const missing = await checkDirectoryExists('directory', tree, 'OS tree');
  if (missing) return { problems: [...problems, missing], kernel: undefined };
  const osRelease = await Promise.all(OS_RELEASE.map((path) => resolveInTree(tree, path)));
  if (!osRelease.some((path) => path !== undefined)) {
    problems.push({
      option: 'directory',
      message: `${tree} holds no OS: it has neither /usr/lib/os-release nor /etc/os-release (is it the root directory of an OS tree?)`,
    });
    return { problems, kernel: undefined };
  }
  if (options.linux !== undefined) return { problems, kernel: undefined };
  const found = await findKernel(tree);
  return 'problem' in found ? { problems: [...problems, found.problem], kernel: undefined } : { problems, kernel: found.kernel };
}

/** Where a directory's kernel came from, for the machine log. */
export function describeDirectoryKernel(kernel: DirectoryKernel | undefined): string[] {
  if (!kernel) return [];
  const initrds = kernel.initrds.length > 0 ? `, initrd ${kernel.initrds.join(', ')}` : '';
  const ignored = kernel.ignoredOptions.length > 0 ? `; its options are not used (the root is the virtiofs share): ${kernel.ignoredOptions.join(' ')}` : '';
  return [`kernel from boot entry ${kernel.entry}: ${kernel.linux}${initrds}${ignored}`];
}

async function findKernel(tree: string): Promise<{ kernel: DirectoryKernel } | { problem: OptionProblem }> {
  const entries = (await Promise.all(BOOT_PARTITIONS.map((partition) => readEntries(tree, partition)))).flat();
  const loaderConf = await readInTree(tree, LOADER_CONF);
  const entry = selectBootEntry(entries, loaderConf === undefined ? undefined : loaderConfDefault(loaderConf));
  const problem = (message: string) => ({ problem: { option: 'directory', message } });
  if (!entry) {
    return problem(
      `no kernel to boot in ${tree}: no Boot Loader Specification entry with a linux line in /boot/${TYPE1_ENTRIES_DIR} or ` +
        `/efi/${TYPE1_ENTRIES_DIR}, and no UKI in /boot/${UKI_DIR} or /efi/${UKI_DIR}; give linux (a kernel for direct kernel boot)`,
    );
  }
  if (entry.type === 'uki') {
    // A unified kernel image is started by UEFI firmware; it carries its own initrd.
    const host = await resolveInTree(tree, entry.path);
    if (host === undefined) return problem(`boot entry ${entry.path} is not readable below ${tree}`);
    return { kernel: { linux: host, initrds: [], kind: 'uki', entry: entry.path, ignoredOptions: [] } };
  }
  const resolve = async (path: string) => ({ path, host: await resolveInTree(tree, join(entry.partition, path)) });
  const [linux, ...initrds] = await Promise.all([entry.linux!, ...entry.initrds].map(resolve));
  const unreadable = [linux!, ...initrds].filter((file) => file.host === undefined);
  if (unreadable.length > 0) {
    return problem(
      `boot entry ${entry.path} names ${unreadable.map((file) => file.path).join(', ')}, not found below ${join(tree, entry.partition)}`,
    );
  }
  return {
    kernel: { linux: linux!.host!, initrds: initrds.map((file) => file.host!), kind: 'kernel', entry: entry.path, ignoredOptions: entry.options },
  };
}

async function readEntries(tree: string, partition: string): Promise<BootEntry[]> {
  const [type1, ukis] = await Promise.all([listDir(tree, `${partition}/${TYPE1_ENTRIES_DIR}`), listDir(tree, `${partition}/${UKI_DIR}`)]);
  const entries = await Promise.all(
    type1
      .filter((name) => name.endsWith('.conf'))
      .map(async (name) => {
        const text = await readInTree(tree, `${partition}/${TYPE1_ENTRIES_DIR}/${name}`);
        return text === undefined ? undefined : parseType1Entry(partition, name, text);
      }),
  );
  return [
    ...entries.filter((entry): entry is BootEntry => entry !== undefined),
    ...ukis.filter((name) => name.toLowerCase().endsWith('.efi')).map((name) => ukiEntry(partition, name)),
  ];
}

async function listDir(tree: string, path: string): Promise<string[]> {
  const dir = await resolveInTree(tree, path);
  return dir === undefined ? [] : readdir(dir).catch(() => []);
}

async function readInTree(tree: string, path: string): Promise<string | undefined> {
  const file = await resolveInTree(tree, path);
  return file === undefined ? undefined : readFile(file, 'utf8').catch(() => undefined);
}

/**
 * The host path of `path` inside the tree `root`, following symlinks as if `root` were `/`
 * (`..` stops at it), or undefined when something on the way does not exist.
 */
export async function resolveInTree(root: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter(Boolean);
  const resolved: string[] = [];
  let symlinks = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, part);
    const info = await lstat(candidate).catch(() => undefined);
    if (!info) return undefined;
    if (info.isSymbolicLink()) {
      if (++symlinks > MAX_SYMLINKS) return undefined;
      const target = await readlink(candidate);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    resolved.push(part);
  }
  return join(root, ...resolved);
}

async function checkDirectoryExists(option: string, path: string, what: string): Promise<OptionProblem | undefined> {
  try {
    if (!(await stat(path)).isDirectory()) return { option, message: `${path} is not a directory (virtiofs shares directories)` };
    await access(path, constants.R_OK | constants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { option, message: `${what} not found: ${path}` };
    if (code === 'EACCES') return { option, message: `${what} not readable: ${path}` };
    return { option, message: `cannot use ${path}: ${(error as Error).message}` };
  }
}
