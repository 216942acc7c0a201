/**
 * Which vsock transport a machine uses, and why (the reason goes to the machine log and the run's
 * announcement). Kernel vsock needs /dev/vhost-vsock that this user can open read-write (QEMU opens
 * it) and socat (the host side, src/transport/kernel-vsock.ts); user-space vsock needs
 * vhost-device-vsock. With neither, `'auto'` falls back to no vsock at all (SSH over a private
 * user-mode network), and says loudly what is missing.
 */
import { open } from 'node:fs/promises';
import { InvalidOptionsError, VmspawnError } from '../errors.js';
import type { VsockSetting } from '../options/machine-options.js';
import type { VsockTransportKind } from '../plan/vsock-plan.js';
import { findExecutable } from './tools.js';

export interface VsockChoice {
  kind: VsockTransportKind;
  reason: string;
}

/** What the host offers. */
export interface VsockHostSupport {
  /** Whether /dev/vhost-vsock could be opened read-write, and if not, why not. */
  device: { usable: boolean; detail: string };
  /** Path of socat, or undefined when it is not installed. */
  socat: string | undefined;
  /** Whether vhost-device-vsock is installed. */
  userSpaceVsock: boolean;
}

export const VSOCK_ENV = 'VMSPAWN_VSOCK';

/** The values `VMSPAWN_VSOCK` may have. */
export type VsockOverride = 'kernel' | 'user-space' | 'none';

/** `VMSPAWN_VSOCK`, checked: undefined when unset, empty or `auto`. */
export function parseVsockOverride(value: string | undefined): VsockOverride | undefined {
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (value === 'kernel' || value === 'user-space' || value === 'none') return value;
  throw new InvalidOptionsError([{ option: `environment variable ${VSOCK_ENV}`, message: `is "${value}"; expected kernel, user-space, none or auto, or unset it` }]);
}

const NO_VSOCK_WORKS = 'SSH, readiness and the journal go over a private user-mode network; notify messages are unavailable';

/** Pure decision from the setting, the `VMSPAWN_VSOCK` override (for 'auto') and what the host has. */
export function decideVsock(setting: VsockSetting, override: VsockOverride | undefined, host: VsockHostSupport): VsockChoice {
  if (setting === 'user-space') return { kind: 'user-space', reason: 'vsock: user-space (vhost-device-vsock), as configured' };
  if (setting === 'kernel') return kernelOrError(host, "vsock: 'kernel'", 'as configured');
  if (setting === false) return { kind: 'none', reason: `vsock: none, as configured (vsock: false): ${NO_VSOCK_WORKS}` };
  if (override === 'none') return { kind: 'none', reason: `vsock: none, from ${VSOCK_ENV}=none: ${NO_VSOCK_WORKS}` };
  if (override === 'kernel') return kernelOrError(host, `${VSOCK_ENV}=kernel`, `from ${VSOCK_ENV}=kernel`);
  if (override === 'user-space') return { kind: 'user-space', reason: `vsock: user-space (vhost-device-vsock), from ${VSOCK_ENV}=user-space` };
  const missing = missingForKernel(host);
  if (missing === undefined) {
    return { kind: 'kernel', reason: 'vsock: kernel (vhost-vsock-pci, bridged by socat), because /dev/vhost-vsock is usable and socat is installed' };
  }
  if (!host.userSpaceVsock) {
    return {
      kind: 'none',
      reason:
        `vsock: NONE, because ${missing} and vhost-device-vsock (user-space vsock) is not installed: ${NO_VSOCK_WORKS}. ` +
        'Install vhost-device-vsock, or give this user /dev/vhost-vsock and install socat, for notify messages and a faster boot.',
    };
  }
  return { kind: 'user-space', reason: `vsock: user-space (vhost-device-vsock), because ${missing}` };
}

function kernelOrError(host: VsockHostSupport, setBy: string, how: string): VsockChoice {
  const missing = missingForKernel(host);
  if (missing !== undefined) {
    throw new VmspawnError(
      `${setBy} needs kernel vsock, but ${missing}. Load the vhost_vsock module and give this user read and write access to ` +
        "/dev/vhost-vsock, install socat (apt-get install socat), or use vsock: 'auto' or 'user-space'.",
    );
  }
  return { kind: 'kernel', reason: `vsock: kernel (vhost-vsock-pci, bridged by socat), ${how}` };
}

function missingForKernel(host: VsockHostSupport): string | undefined {
  if (!host.device.usable) return host.device.detail;
  if (host.socat === undefined) return 'socat is not installed (it carries the host side of kernel vsock)';
  return undefined;
}

/** Whether this user can open /dev/vhost-vsock read-write (as QEMU will). It is the vhost device, not an AF_VSOCK socket. */
export async function probeVhostVsock(path = '/dev/vhost-vsock'): Promise<VsockHostSupport['device']> {
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
  if (setting === 'user-space' || setting === false) {
    return decideVsock(setting, undefined, { device: { usable: false, detail: 'not checked' }, socat: undefined, userSpaceVsock: true });
  }
  const override = setting === 'auto' ? parseVsockOverride(process.env[VSOCK_ENV]) : undefined;
  const [device, socat, userSpace] = await Promise.all([probeVhostVsock(), findExecutable('socat'), findExecutable('vhost-device-vsock')]);
  return decideVsock(setting, override, { device, socat, userSpaceVsock: userSpace !== undefined });
}

/** A machine without vsock cannot observe readiness with `ssh: false`: refused before anything is spawned. */
export function requireSshWithoutVsock(choice: VsockChoice, ssh: boolean): void {
  if (choice.kind !== 'none' || ssh) return;
  throw new InvalidOptionsError([
    {
      option: 'ssh',
      message:
        `is false, but the machine gets no vsock (${choice.reason}), and without vsock the engine learns that the guest is ready only over SSH. ` +
        "Set ssh: true, or install vhost-device-vsock and use vsock: 'user-space'",
    },
  ]);
}
