/**
 * Defaults and cross-checks of the disk and network options. Pure: the files are looked at in
 * check-disks.ts and check-network.ts.
 */
import { basename } from 'node:path';
import type { z } from 'zod';
import type { OptionProblem } from '../errors.js';
import type { ImageFormat, NetworkSetting } from './machine-options.js';
import type { machineOptionsSchema } from './schema.js';
import { parseSize } from './size.js';

type ParsedOptions = z.infer<typeof machineOptionsSchema>;

export interface ResolvedExtraDrive {
  path: string;
  format: ImageFormat;
  readOnly: boolean;
  /** Writes go to a throwaway overlay (ignored when read-only: nothing is written then). */
  ephemeral: boolean;
  /** The virtio-blk serial: the guest sees `/dev/disk/by-id/virtio-<serial>`. */
  serial: string;
}

export interface ResolvedPortForward {
  guest: number;
  /** 0: QEMU picks a free port. */
  host: number;
}

export interface ResolvedDisksAndNetwork {
  extraDrives: ResolvedExtraDrive[];
  /** Size of the root overlay, rounded up to a multiple of 4096; undefined keeps the image's size. */
  growImageBytes: number | undefined;
  discardDisk: boolean;
  network: NetworkSetting;
  portForwards: ResolvedPortForward[];
}

export const DISK_NETWORK_DEFAULTS = {
  discardDisk: true,
  network: 'none',
} as const;

/** vmspawn rounds `--grow-image` up to a multiple of 4096. */
const GROW_GRANULE = 4096;

export function resolveDisksAndNetwork(options: ParsedOptions): ResolvedDisksAndNetwork {
  const growBytes = options.growImage === undefined ? undefined : parseSize(options.growImage);
  return {
    extraDrives: (options.extraDrives ?? []).map((drive) => ({
      path: drive.path,
      format: drive.format ?? 'auto',
      readOnly: drive.readOnly ?? false,
      ephemeral: drive.ephemeral ?? true,
      serial: drive.serial ?? defaultSerial(drive.path),
    })),
    growImageBytes: growBytes === undefined ? undefined : Math.ceil(growBytes / GROW_GRANULE) * GROW_GRANULE,
    discardDisk: options.discardDisk ?? DISK_NETWORK_DEFAULTS.discardDisk,
    network: options.network ?? DISK_NETWORK_DEFAULTS.network,
    portForwards: (options.portForwards ?? []).map((forward) => ({ guest: forward.guest, host: forward.host ?? 0 })),
  };
}

/**
 * The serial vmspawn gives a drive, its file name, made fit for virtio-blk and a udev symlink:
 * characters udev would replace become `_`, and only the first 20 bytes reach the guest.
 */
export function defaultSerial(path: string): string {
  return basename(path).replace(/[^A-Za-z0-9._+-]/g, '_').slice(0, 20) || 'drive';
}

export function crossCheckDisksAndNetwork(options: ParsedOptions): OptionProblem[] {
  const problems: OptionProblem[] = [];
  if (options.growImage !== undefined && options.image === undefined) {
    problems.push({ option: 'growImage', message: 'grows the root disk image, but no image is given: give image too, or drop growImage' });
  }
  const { extraDrives, portForwards, network } = resolveDisksAndNetwork(options);
  const serials = new Map<string, number>();
  extraDrives.forEach((drive, index) => {
    const first = serials.get(drive.serial);
    if (first === undefined) serials.set(drive.serial, index);
    else {
      problems.push({
        option: `extraDrives[${index}]`,
        message: `has the serial "${drive.serial}" of extraDrives[${first}] (the file name, cut to 20 bytes, unless set): give one of them its own serial`,
      });
    }
  });
  if (portForwards.length > 0 && network !== 'user') {
    problems.push({
      option: 'portForwards',
      message: `forward host ports through QEMU's user-mode network, but network is ${JSON.stringify(network)}: set network: 'user'`,
    });
  }
  portForwards.forEach((forward, index) => {
    if (portForwards.findIndex((other) => other.guest === forward.guest) < index) {
      problems.push({ option: `portForwards[${index}]`, message: `forwards guest port ${forward.guest} a second time: forward each guest port once` });
    }
    if (forward.host !== 0 && portForwards.findIndex((other) => other.host === forward.host) < index) {
      problems.push({ option: `portForwards[${index}]`, message: `uses host port ${forward.host} a second time: give each forward its own host port, or 0 for a free one` });
    }
  });
  return problems;
}
