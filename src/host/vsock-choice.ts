/**
 * Which vsock transport a machine uses, and why (the reason goes to the machine log).
 */
import { existsSync } from 'node:fs';
import type { VsockSetting } from '../options/machine-options.js';
import type { VsockTransportKind } from '../plan/vsock-plan.js';

export interface VsockChoice {
  kind: VsockTransportKind;
  reason: string;
}

/** Pure decision, given whether the host has kernel vsock (/dev/vhost-vsock). */
export function decideVsock(setting: VsockSetting, hasKernelVsock: boolean): VsockChoice {
  if (setting === 'user-space') return { kind: 'user-space', reason: 'vsock: user-space (vhost-device-vsock), as configured' };
  return {
    kind: 'user-space',
    reason: hasKernelVsock
      ? 'vsock: user-space (vhost-device-vsock); /dev/vhost-vsock exists, but the kernel transport is not supported yet'
      : 'vsock: user-space (vhost-device-vsock), because this host has no kernel vsock (/dev/vhost-vsock)',
  };
}

export function chooseVsock(setting: VsockSetting): VsockChoice {
  return decideVsock(setting, existsSync('/dev/vhost-vsock'));
}
