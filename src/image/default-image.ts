/**
 * The default test image: a small Debian trixie guest built from Debian's packages by the recipe in
 * fixtures/default-image. Built on first use, cached under a key derived from the recipe's files,
 * rebuilt only when the recipe changes. Concurrent callers (vitest workers) share one build.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { VmspawnError } from '../errors.js';
import { isProcessAlive } from '../host/process-status.js';
import type { MachineOptions } from '../options/machine-options.js';

/** The boot options of one flavour of the image. */
export type BootSource = Required<Pick<MachineOptions, 'linux' | 'initrd' | 'kernelArgs'>> & Pick<MachineOptions, 'image'>;

export interface DefaultImage {
  /** Directory holding the image files and manifest.json. */
  directory: string;
  /** The whole root as an initramfs: direct kernel boot, no disk. The fastest to boot. */
  initramfs: BootSource;
  /** The root as an ext4 disk image (attached through a throwaway overlay) with a small initrd that mounts it. */
  disk: BootSource;
  /** Versions, sizes and build time, as the recipe wrote them. */
  manifest: DefaultImageManifest;
}

export interface DefaultImageManifest {
  debian: string;
  kernel: { package: string; version: string; release: string };
  packages: Record<string, string>;
  files: Record<string, number>;
  cmdline: { initramfs: string; disk: string };
  buildSeconds: number;
}

export interface DefaultImageOptions {
  /** Receives each progress line of a build. @default writes to stderr */
  onProgress?: (line: string) => void;
  /** Cache root. @default $VMSPAWN_CACHE_DIR, else $XDG_CACHE_HOME/vitest-vmspawn, else ~/.cache/vitest-vmspawn */
  cacheDir?: string;
}

const RECIPE_DIR = fileURLToPath(new URL('../../fixtures/default-image/', import.meta.url));
const LOCK_STALE_CHECK_MS = 1_000;

/** Returns the default image, building it first if the cache has no build of the current recipe. */
export async function defaultImage(options: DefaultImageOptions = {}): Promise<DefaultImage> {
  const key = await recipeKey();
  const imagesDir = join(options.cacheDir ?? cacheRoot(), 'images');
  const directory = join(imagesDir, `debian-trixie-${key}`);
  if (!existsSync(join(directory, 'manifest.json'))) {
    await mkdir(imagesDir, { recursive: true });
    await withLock(`${directory}.lock`, async () => {
      if (!existsSync(join(directory, 'manifest.json'))) await build(directory, options.onProgress ?? ((line) => process.stderr.write(`vitest-vmspawn: image: ${line}\n`)));
    });
  }
  return describeImage(directory);
}

/** Hash of every file of the recipe: a change to any of them means a new image. */
export async function recipeKey(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await readdir(RECIPE_DIR)).sort()) {
    hash.update(file).update('\0').update(await readFile(join(RECIPE_DIR, file))).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

export function cacheRoot(): string {
  if (process.env.VMSPAWN_CACHE_DIR) return process.env.VMSPAWN_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vitest-vmspawn');
}

async function describeImage(directory: string): Promise<DefaultImage> {
  const manifest = JSON.parse(await readFile(join(directory, 'manifest.json'), 'utf8')) as DefaultImageManifest;
  const args = (cmdline: string) => cmdline.split(/\s+/).filter(Boolean);
  const linux = join(directory, 'vmlinuz');
  return {
    directory,
    manifest,
    initramfs: { linux, initrd: [join(directory, 'rootfs.cpio.zst')], kernelArgs: args(manifest.cmdline.initramfs) },
    disk: {
      linux,
      initrd: [join(directory, 'disk-initrd.cpio.zst')],
      image: join(directory, 'root.raw'),
      kernelArgs: args(manifest.cmdline.disk),
    },
  };
}

async function build(directory: string, onProgress: (line: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new VmspawnError(
      `The default image is not built yet and building it needs root (mmdebstrap, device nodes). ` +
        `Build it once as root: sudo ${join(RECIPE_DIR, 'build.sh')} ${directory}`,
    );
  }
  onProgress(`building the default image (Debian trixie) into ${directory}; this takes a minute or so`);
  const script = execa('bash', [join(RECIPE_DIR, 'build.sh'), directory], { all: true, reject: false, lines: false, stdin: 'ignore' });
  let output = '';
  script.all?.setEncoding('utf8');
  script.all?.on('data', (chunk: string) => {
    output += chunk;
    for (const line of chunk.split('\n')) if (line.trim()) onProgress(line.trimEnd());
  });
  const result = await script;
  if (result.exitCode !== 0) {
    throw new VmspawnError(`Building the default image failed (exit ${result.exitCode}):\n${output.split('\n').slice(-25).join('\n')}`);
  }
}

/** Runs `task` holding an exclusive lock file; a lock whose owner died is taken over. */
async function withLock<T>(path: string, task: () => Promise<T>): Promise<T> {
  while (true) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(path, 'utf8').catch(() => '0'));
      if (owner > 0 && !isProcessAlive(owner)) await rm(path, { force: true });
      else await sleep(LOCK_STALE_CHECK_MS);
    }
  }
  try {
    return await task();
  } finally {
    await rm(path, { force: true });
  }
}
