/**
 * Which UEFI firmware a machine boots with, chosen from the descriptors found on the host, and the
 * QEMU machine type it needs. Pure: the descriptors are read in src/host/firmware-descriptors.ts.
 */
import type { FirmwareDescriptor } from '../host/firmware-descriptors.js';
import type { SecureBootSetting } from '../options/machine-options.js';

/**
 * - `true`: the first firmware with the `secure-boot` feature (as vmspawn `--secure-boot=yes`).
 * - `false`: the first without it (as vmspawn `--secure-boot=no`).
 * - `'auto'`: the first without Secure Boot, else the first that enforces no vendor keys (no
 *   `enrolled-keys`), else the first. vmspawn takes the first descriptor, which on Debian is the
 *   firmware with Microsoft's keys enrolled: it boots only signed images, and a test tool must boot
 *   the images users build. Secure Boot also needs SMM, which makes every boot slower under TCG.
 */
export function chooseFirmware(
  found: readonly FirmwareDescriptor[],
  secureBoot: SecureBootSetting,
): { firmware: FirmwareDescriptor } | { problem: string } {
  const secure = (descriptor: FirmwareDescriptor) => descriptor.features.includes('secure-boot');
  const firmware =
    secureBoot === 'auto'
      ? (found.find((descriptor) => !secure(descriptor)) ?? found.find((descriptor) => !descriptor.features.includes('enrolled-keys')) ?? found[0])
      : found.find((descriptor) => secure(descriptor) === secureBoot);
  if (firmware) return { firmware };
  if (found.length === 0) return { problem: 'no UEFI firmware for x86_64 was found' };
  const names = found.map((descriptor) => descriptor.name).join(', ');
  return { problem: `no firmware ${secureBoot ? 'with' : 'without'} Secure Boot was found among ${names}` };
}

/** The QEMU machine a firmware runs on: q35 when it needs SMM or does not list i440fx, else pc (i440fx). */
export interface MachineType {
  type: 'pc' | 'q35';
  /** System management mode, which Secure Boot firmware needs to protect its variables. */
  smm: boolean;
}

export const DEFAULT_MACHINE_TYPE: MachineType = { type: 'pc', smm: false };

export function machineTypeFor(firmware: FirmwareDescriptor): MachineType {
  if (firmware.features.includes('requires-smm')) return { type: 'q35', smm: true };
  const i440fx = firmware.machines.some((pattern) => /^pc-i440fx-/.test(pattern) || pattern === 'pc');
  return i440fx ? DEFAULT_MACHINE_TYPE : { type: 'q35', smm: false };
}
