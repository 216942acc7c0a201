/**
 * Fixed PCI addresses for every device the engine adds. Fixed addresses keep the guest's view of
 * its hardware stable across runs, which saving and restoring a machine's state and hot-plugging a
 * device back into the same place both rely on. Slots 0 and 1 belong to the i440fx chipset.
 */
export const PCI_SLOTS = {
  rng: 0x03,
  vsock: 0x04,
  rootDisk: 0x06,
} as const;

export type PciDevice = keyof typeof PCI_SLOTS;

/** The `bus=…,addr=…` suffix that pins a device to its slot. */
export function pciAddress(device: PciDevice): string {
  return `bus=pci.0,addr=0x${PCI_SLOTS[device].toString(16)}`;
}

/**
 * Shared directories (virtiofs) take slots 0x10–0x1f in order: the root first, then the binds. Fixed,
 * like the slots above, and clear of them.
 */
export const VIRTIOFS_FIRST_SLOT = 0x10;
export const VIRTIOFS_SLOTS = 16;

/** The `bus=…,addr=…` suffix of the `index`-th virtiofs device. */
export function virtiofsPciAddress(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= VIRTIOFS_SLOTS) throw new RangeError(`no PCI slot for virtiofs device ${index}`);
  return `bus=pci.0,addr=0x${(VIRTIOFS_FIRST_SLOT + index).toString(16)}`;
}
