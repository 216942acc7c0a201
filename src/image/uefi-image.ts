/**
 * The UEFI test image: a GPT disk as distributions ship them, built by the recipe in
 * fixtures/uefi-image from Debian trixie's packages. UEFI firmware starts systemd-boot from the EFI
 * system partition; its default entry is a unified kernel image (Type #2), a Type #1 entry (kernel and
 * initrd on the ESP) is the other. The root partition has the discoverable type root-x86-64, so no
 * `root=` is needed: the systemd initrd finds it on the disk systemd-boot names in LoaderDevicePartUUID.
 * Cached like the default image.
 */
import { join } from 'node:path';
import { cachedImageDirectory, readManifest, type ImageCacheOptions, type ImageRecipe } from './image-cache.js';

export interface UefiImage {
  /** Directory holding the image files and manifest.json. */
  directory: string;
  /** The whole GPT disk, raw and sparse; systemd-boot's default entry is the UKI. Attach it through an overlay. */
  disk: string;
  /**
   * The same disk with the Type #1 entry as systemd-boot's default: a small qcow2 image whose backing
   * file is `disk` (named relative to it). Attach it through an overlay too.
   */
  diskType1: string;
  /** The unified kernel image (also /EFI/Linux/debian.efi on the ESP), for direct boot under UEFI firmware. */
  uki: string;
  /** The Type #1 entry's kernel (also /debian/vmlinuz on the ESP). */
  kernel: string;
  /** The Type #1 entry's initrd, a systemd initrd (also /debian/initrd.cpio.zst on the ESP). */
  initrd: string;
  /** Versions, sizes, partitions, kernel command line and build time, as the recipe wrote them. */
  manifest: UefiImageManifest;
}

export interface UefiImageManifest {
  debian: string;
  kernel: { package: string; version: string; release: string };
  packages: Record<string, string>;
  files: Record<string, number>;
  partitions: {
    diskGuid: string;
    esp: { partuuid: string; type: string; startMiB: number; sizeMiB: number };
    root: { partuuid: string; type: string; startMiB: number; sizeMiB: number; fsUuid: string };
  };
  /** Entry IDs as systemd-boot names them, and the command line both entries carry. */
  boot: { entries: { uki: string; type1: string }; defaultEntry: string; cmdline: string };
  buildSeconds: number;
}

export type UefiImageOptions = ImageCacheOptions;

const RECIPE: ImageRecipe = {
  recipe: 'uefi-image',
  cacheName: 'debian-trixie-uefi',
  title: 'the UEFI image',
  description: 'Debian trixie, GPT disk, systemd-boot',
};

/** Returns the UEFI image, building it first if the cache has no build of the current recipe. */
export async function uefiImage(options: UefiImageOptions = {}): Promise<UefiImage> {
  const directory = await cachedImageDirectory(RECIPE, options);
  return {
    directory,
    disk: join(directory, 'disk.raw'),
    diskType1: join(directory, 'disk-type1.qcow2'),
    uki: join(directory, 'debian.efi'),
    kernel: join(directory, 'vmlinuz'),
    initrd: join(directory, 'initrd.cpio.zst'),
    manifest: await readManifest<UefiImageManifest>(directory),
  };
}
