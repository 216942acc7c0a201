/**
 * Reads the section names of a PE/COFF file (an EFI binary) from its first bytes, enough to tell a
 * unified kernel image (a PE file with a `.linux` section, as systemd's ukify builds it) from a plain
 * kernel (a bzImage, which is also a PE file when built with the EFI stub, but has no such section).
 */

/** Bytes to read from the start of a file: the DOS header, the PE headers and the section table. */
export const PE_HEADER_BYTES = 64 * 1024;

/** The names of the PE sections, or undefined when the bytes do not start a PE file. */
export function peSectionNames(head: Uint8Array): string[] | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.byteLength < 0x40 || view.getUint16(0, true) !== 0x5a4d /* "MZ" */) return undefined;
  const pe = view.getUint32(0x3c, true);
  if (pe + 24 > head.byteLength || view.getUint32(pe, true) !== 0x00004550 /* "PE\0\0" */) return undefined;
  const sectionCount = view.getUint16(pe + 6, true);
  const optionalHeaderSize = view.getUint16(pe + 20, true);
  const table = pe + 24 + optionalHeaderSize;
  const names: string[] = [];
  for (let index = 0; index < sectionCount; index++) {
    const entry = table + index * 40;
    if (entry + 40 > head.byteLength) return undefined;
    const raw = head.subarray(entry, entry + 8);
    const end = raw.indexOf(0);
    names.push(new TextDecoder('latin1').decode(end === -1 ? raw : raw.subarray(0, end)));
  }
  return names;
}

/** What a kernel file given as `linux` is. */
export type KernelKind = 'uki' | 'kernel';

/** A unified kernel image carries the kernel in a `.linux` section; anything else is booted as a plain kernel. */
export function kernelKind(head: Uint8Array): KernelKind {
  return peSectionNames(head)?.includes('.linux') ? 'uki' : 'kernel';
}
