/**
 * Which vsock transport a machine uses, and why (the reason goes to the machine log). Kernel vsock
 * needs /dev/vhost-vsock that this user can open read-write (QEMU opens it) and socat (the host
 * side, src/transport/kernel-vsock.ts); user-space vsock needs vhost-device-vsock, checked later.
 */
import { open } from 'node:fs/promises';
import { VmspawnError } from '../errors.js';
import { findExecutable } from './tools.js';
import type { VsockSetting } from '../options/machine-options.js';
import type { VsockTransportKind } from '../plan/vsock-plan.js';

export interface VsockChoice {
  kind: VsockTransportKind;
  reason: string;
}

/** What the host offers for kernel vsock. */
export interface KernelVsockSupport {
  /** Whether /dev/vhost-vsock could be opened read-write, and if not, why not. */
  device: { usable: boolean; detail: string };
  /** Path of socat, or undefined when it is not installed. */
  socat: string | undefined;
}

/** The values `VMSPAWN_VSOCK` may have. */
export type VsockOverride = 'kernel' | 'user-space' | 'none';

/**
 * `VMSPAWN_VSOCK`, checked: undefined when unset or empty. The caller decides what `none` means
 * (a machine without vsock, where the engine has that).
 */
export function parseVsockOverride(value: string | undefined): VsockOverride | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'kernel' || value === 'user-space' || value === 'none') return value;
  throw new VmspawnError(`VMSPAWN_VSOCK="${value}" is not a vsock transport: expected kernel, user-space or none, or unset it.`);
}

/** Pure decision from the setting, the `VMSPAWN_VSOCK` override (for 'auto') and what the host has. */
export function decideVsock(setting: VsockSetting, override: VsockOverride | undefined, host: KernelVsockSupport): VsockChoice {
  if (setting === 'user-space') return { kind: 'user-space', reason: 'vsock: user-space (vhost-device-vsock), as configured' };
  if (setting === 'kernel') return kernelOrError(host, "vsock: 'kernel'", 'as configured');
  if (override === 'none') {
    throw new VmspawnError('VMSPAWN_VSOCK=none: this version cannot run a machine without vsock. Use kernel or user-space, or unset it.');
  }
  if (override === 'kernel') return kernelOrError(host, 'VMSPAWN_VSOCK=kernel', 'from VMSPAWN_VSOCK=kernel');
  if (override === 'user-space') return { kind: 'user-space', reason: 'vsock: user-space (vhost-device-vsock), from VMSPAWN_VSOCK=user-space' };
  const missing = missingForKernel(host);
  return missing === undefined
    ? { kind: 'kernel', reason: `vsock: kernel (vhost-vsock-pci, bridged by socat), because /dev/vhost-vsock is usable and socat is installed` }
    : { kind: 'user-space', reason: `vsock: user-space (vhost-device-vsock), because ${missing}` };
}

function kernelOrError(host: KernelVsockSupport, setBy: string, how: string): VsockChoice {
  const missing = missingForKernel(host);
  if (missing !== undefined) {
    throw new VmspawnError(
      `${setBy} needs kernel vsock, but ${missing}. Load the vhost_vsock module and give this user read and write access to ` +
        "/dev/vhost-vsock, install socat (apt-get install socat), or use vsock: 'auto' or 'user-space'.",
    );
  }
  return { kind: 'kernel', reason: `vsock: kernel (vhost-vsock-pci, bridged by socat), ${how}` };
}

function missingForKernel(host: KernelVsockSupport): string | undefined {
  if (!host.device.usable) return host.device.detail;
  if (host.socat === undefined) return 'socat is not installed (it carries the host side of kernel vsock)';
  return undefined;
}

/** Whether this user can open /dev/vhost-vsock read-write (as QEMU will). It is the vhost device, not an AF_VSOCK socket. */
export async function probeVhostVsock(path = '/dev/vhost-vsock'): Promise<KernelVsockSupport['device']> {
  try {
    const handle = await open(path, 'r+');
    await handle.close();
    return { usable: true, detail: `${path} is usable` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { usable: false, detail: `this host has no kernel vsock (${path} does not exist; the vhost_vsock module is not loaded?)` };
    if (code === 'EACCES' || code === 'EPERM') return { usable: false, detail: `${path} is not readable and writable by this user (${code})` };
    return { usable: false, detail: `${path} cannot be opened (${code ?? (error as Error).message})` };
  }
}

export async function chooseVsock(setting: VsockSetting): Promise<VsockChoice> {
  if (setting === 'user-space') return decideVsock(setting, undefined, { device: { usable: false, detail: 'not checked' }, socat: undefined });
  const override = setting === 'auto' ? parseVsockOverride(process.env.VMSPAWN_VSOCK) : undefined;
  const [device, socat] = await Promise.all([probeVhostVsock(), findExecutable('socat')]);
  return decideVsock(setting, override, { device, socat });
}
