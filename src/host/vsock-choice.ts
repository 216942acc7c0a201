/**
 * Which vsock transport a machine uses, and why (the reason goes to the machine log and the run's
 * announcement). Without kernel vsock and without vhost-device-vsock, `'auto'` falls back to no
 * vsock at all (SSH over a private user-mode network), and says loudly what is missing.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InvalidOptionsError } from '../errors.js';
import type { VsockSetting } from '../options/machine-options.js';
import type { VsockTransportKind } from '../plan/vsock-plan.js';

export interface VsockChoice {
  kind: VsockTransportKind;
  reason: string;
}

/** What the host offers. */
export interface VsockHost {
  /** `/dev/vhost-vsock` exists. */
  kernelVsock: boolean;
  /** `vhost-device-vsock` is on PATH. */
  userSpaceVsock: boolean;
}

export const VSOCK_ENV = 'VMSPAWN_VSOCK';

/** `VMSPAWN_VSOCK`: `none` or `user-space` overrides `'auto'`; unset or empty leaves it. */
export function vsockFromEnv(value: string | undefined): Exclude<VsockSetting, 'auto'> | undefined {
  if (value === undefined || value === '' || value === 'auto') return undefined;
  if (value === 'none') return false;
  if (value === 'user-space') return value;
  throw new InvalidOptionsError([{ option: `environment variable ${VSOCK_ENV}`, message: `is "${value}"; expected none, user-space or auto` }]);
}

const NO_VSOCK_WORKS = 'SSH, readiness and the journal go over a private user-mode network; notify messages are unavailable';

/** Pure decision, given the setting, the environment's override and what the host has. */
export function decideVsock(setting: VsockSetting, host: VsockHost, override?: Exclude<VsockSetting, 'auto'>): VsockChoice {
  if (setting === 'user-space') return { kind: 'user-space', reason: 'vsock: user-space (vhost-device-vsock), as configured' };
  if (setting === false) return { kind: 'none', reason: `vsock: none, as configured (vsock: false): ${NO_VSOCK_WORKS}` };
  if (override === 'user-space') return { kind: 'user-space', reason: `vsock: user-space (vhost-device-vsock), as ${VSOCK_ENV}=user-space says` };
  if (override === false) return { kind: 'none', reason: `vsock: none, as ${VSOCK_ENV}=none says: ${NO_VSOCK_WORKS}` };
  if (!host.userSpaceVsock) {
    const kernel = host.kernelVsock ? '/dev/vhost-vsock exists but the kernel transport is not supported yet' : 'no kernel vsock (/dev/vhost-vsock)';
    return {
      kind: 'none',
      reason:
        `vsock: NONE, because this host has ${kernel} and no user-space vsock (vhost-device-vsock is not installed): ${NO_VSOCK_WORKS}. ` +
        'Install vhost-device-vsock for notify messages and a faster boot.',
    };
  }
  return {
    kind: 'user-space',
    reason: host.kernelVsock
      ? 'vsock: user-space (vhost-device-vsock); /dev/vhost-vsock exists, but the kernel transport is not supported yet'
      : 'vsock: user-space (vhost-device-vsock), because this host has no kernel vsock (/dev/vhost-vsock)',
  };
}

export function chooseVsock(setting: VsockSetting): VsockChoice {
  return decideVsock(setting, { kernelVsock: existsSync('/dev/vhost-vsock'), userSpaceVsock: onPath('vhost-device-vsock') }, vsockFromEnv(process.env[VSOCK_ENV]));
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).filter(Boolean).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** `'auto'` that found no vsock cannot observe readiness with `ssh: false`: refused before anything is spawned. */
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
