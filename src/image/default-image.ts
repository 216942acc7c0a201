/**
 * The default test image: a small Debian trixie guest built from Debian's packages by the recipe in
 * fixtures/default-image. Built on first use, cached under a key derived from the recipe's files,
 * rebuilt only when the recipe changes. Concurrent callers (vitest workers) share one build.
 */
import { join } from 'node:path';
import type { MachineOptions } from '../options/machine-options.js';
import { cachedImageDirectory, cacheRoot, readManifest, recipeKeyOf, type ImageCacheOptions, type ImageRecipe } from './image-cache.js';

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

export type DefaultImageOptions = ImageCacheOptions;

const RECIPE: ImageRecipe = { recipe: 'default-image', cacheName: 'debian-trixie', title: 'the default image', description: 'Debian trixie' };

/** Returns the default image, building it first if the cache has no build of the current recipe. */
export async function defaultImage(options: DefaultImageOptions = {}): Promise<DefaultImage> {
  return describeImage(await cachedImageDirectory(RECIPE, options));
}

/** Hash of every file of the recipe: a change to any of them means a new image. */
export async function recipeKey(): Promise<string> {
  return recipeKeyOf(RECIPE.recipe);
}

export { cacheRoot };

async function describeImage(directory: string): Promise<DefaultImage> {
  const manifest = await readManifest<DefaultImageManifest>(directory);
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
