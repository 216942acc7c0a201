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
  network: 0x09,
} as const;

export type PciDevice = keyof typeof PCI_SLOTS;

/** The `addr=…` suffix that pins a device to its slot on the root bus (`pci.0` on pc, `pcie.0` on q35). */
export function pciAddress(device: PciDevice): string {
  return `addr=0x${PCI_SLOTS[device].toString(16)}`;
}

/**
 * Extra drives take slots 0x10-0x1e in order, so the guest names them /dev/vdb, /dev/vdc, … after the
 * root disk (0x1f is q35's ISA bridge).
 */
export const FIRST_EXTRA_DRIVE_SLOT = 0x10;
export const EXTRA_DRIVE_SLOTS = 15;

/** The `addr=…` suffix of the extra drive at `index`. */
export function extraDrivePciAddress(index: number): string {
  return `addr=0x${(FIRST_EXTRA_DRIVE_SLOT + index).toString(16)}`;
}
