/**
 * How each vsock transport shows up in the plan: the QEMU device and the helper daemon it needs.
 * The runtime side of a transport (listening and connecting) lives in src/transport.
 */
import type { MachineLayout } from './machine-layout.js';
import { pciAddress } from './pci-slots.js';
import { escapeOptionValue } from './qemu-syntax.js';

/** The transports the engine can plan. Kernel AF_VSOCK (`vhost-vsock-pci`) is the next one to add. */
export type VsockTransportKind = 'user-space';

export interface VsockPlan {
  kind: VsockTransportKind;
  qemuArgs: string[];
  /** A daemon that must run before QEMU starts. */
  daemon: { binary: string; args: string[] } | undefined;
}

export function planVsock(kind: VsockTransportKind, layout: MachineLayout, daemonBinary: string): VsockPlan {
  switch (kind) {
    case 'user-space':
      return {
        kind,
        qemuArgs: [
          '-chardev', `socket,id=vsock,path=${escapeOptionValue(layout.vhostUserSocket)}`,
          '-device', `vhost-user-vsock-pci,chardev=vsock,id=vsock0,${pciAddress('vsock')}`,
        ],
        // One daemon per machine, so the guest CID can always be the first one free, 3.
        daemon: { binary: daemonBinary, args: ['--guest-cid', '3', '--socket', layout.vhostUserSocket, '--uds-path', layout.vsockSocket] },
      };
  }
}
