/**
 * The disks besides the root disk's own device: the throwaway overlays to create (for the root image,
 * grown to `growImage`, and for each ephemeral extra drive) and the QEMU arguments of the extra drives.
 * Each extra drive is a virtio-blk device with a serial, at a fixed PCI slot after the root disk.
 */
import { join } from 'node:path';
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import type { MachineLayout } from './machine-layout.js';
import { extraDrivePciAddress } from './pci-slots.js';
import { escapeOptionValue } from './qemu-syntax.js';

/** A qcow2 overlay over a file the guest must not change, created before QEMU starts. */
export interface PlannedOverlay {
  base: string;
  baseFormat: 'raw' | 'qcow2';
  path: string;
  /** The overlay's virtual size, when it is to be larger than the base (`growImage`). */
  sizeBytes?: number;
}

export interface ExtraDrivesPlan {
  overlays: PlannedOverlay[];
  qemuArgs: string[];
}

/** What QEMU does with the guest's discard requests: pass them to the file, or drop them. */
export function discardMode(options: Pick<ResolvedMachineOptions, 'discardDisk'>): 'unmap' | 'ignore' {
  return options.discardDisk ? 'unmap' : 'ignore';
}

/** The root image's overlay, grown when `growImage` asks for it. */
export function planRootOverlay(
  options: Pick<ResolvedMachineOptions, 'image' | 'growImageBytes'>,
  imageFormat: 'raw' | 'qcow2' | undefined,
  layout: MachineLayout,
): PlannedOverlay | undefined {
  if (!options.image) return undefined;
  const overlay: PlannedOverlay = { base: options.image, baseFormat: imageFormat ?? 'raw', path: layout.overlay };
  if (options.growImageBytes !== undefined) overlay.sizeBytes = options.growImageBytes;
  return overlay;
}

/**
 * `formats` are the drives' formats as read from the files (preflight). A read-only drive is opened
 * read-only as it is; an ephemeral one through an overlay in the runtime directory; otherwise the
 * guest writes to the file, with flushes honoured (`cache=writeback`) so a killed QEMU leaves a
 * qcow2 file consistent.
 */
export function planExtraDrives(options: ResolvedMachineOptions, formats: ReadonlyArray<'raw' | 'qcow2'>, layout: MachineLayout): ExtraDrivesPlan {
  const overlays: PlannedOverlay[] = [];
  const qemuArgs = options.extraDrives.flatMap((drive, index) => {
    const format = formats[index] ?? 'raw';
    let file: { path: string; format: 'raw' | 'qcow2'; settings: string };
    if (drive.readOnly) {
      file = { path: drive.path, format, settings: 'readonly=on' };
    } else if (drive.ephemeral) {
      const overlay = { base: drive.path, baseFormat: format, path: extraDriveOverlayPath(layout, index) };
      overlays.push(overlay);
      file = { path: overlay.path, format: 'qcow2', settings: 'cache=unsafe' };
    } else {
      file = { path: drive.path, format, settings: 'cache=writeback' };
    }
    const id = `extra${index}`;
    return [
      '-drive', `if=none,id=${id},file=${escapeOptionValue(file.path)},format=${file.format},discard=${discardMode(options)},${file.settings}`,
      '-device', `virtio-blk-pci,drive=${id},serial=${escapeOptionValue(drive.serial)},${extraDrivePciAddress(index)}`,
    ];
  });
  return { overlays, qemuArgs };
}

export function extraDriveOverlayPath(layout: MachineLayout, index: number): string {
  return join(layout.runtimeDir, `extra-drive-${index}-overlay.qcow2`);
}
