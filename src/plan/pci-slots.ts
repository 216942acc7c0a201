/**
 * Fixed PCI addresses for every device the engine adds. Fixed addresses keep the guest's view of
 * its hardware stable across runs, which saving and restoring a machine's state and hot-plugging a
 * device back into the same place both rely on. Slots 0 and 1 belong to the i440fx chipset (q35
 * keeps 0 and 0x1f).
 */
export const PCI_SLOTS = {
  rng: 0x03,
  vsock: 0x04,
  rootDisk: 0x06,
  /** The control NIC of a machine without vsock. */
  controlNetwork: 0x08,
  network: 0x09,
} as const;

export type PciDevice = keyof typeof PCI_SLOTS;

/** The `addr=…` suffix that pins a device to its slot on the root bus (`pci.0` on pc, `pcie.0` on q35). */
export function pciAddress(device: PciDevice): string {
  return `addr=0x${PCI_SLOTS[device].toString(16)}`;
}

/**
 * Extra drives take slots 0x0a-0x11 in order, so the guest names them /dev/vdb, /dev/vdc, … after the
 * root disk; shared directories (virtiofs) take 0x12-0x1e, the root first, then the binds. Fixed,
 * like the slots above, and clear of them and of q35's ISA bridge at 0x1f.
 */
export const FIRST_EXTRA_DRIVE_SLOT = 0x0a;
export const EXTRA_DRIVE_SLOTS = 8;
export const VIRTIOFS_FIRST_SLOT = 0x12;
export const VIRTIOFS_SLOTS = 13;

/** The `addr=…` suffix of the extra drive at `index`. */
export function extraDrivePciAddress(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= EXTRA_DRIVE_SLOTS) throw new RangeError(`no PCI slot for extra drive ${index}`);
  return `addr=0x${(FIRST_EXTRA_DRIVE_SLOT + index).toString(16)}`;
}

/** The `addr=…` suffix of the `index`-th virtiofs device. */
export function virtiofsPciAddress(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= VIRTIOFS_SLOTS) throw new RangeError(`no PCI slot for virtiofs device ${index}`);
  return `addr=0x${(VIRTIOFS_FIRST_SLOT + index).toString(16)}`;
}
