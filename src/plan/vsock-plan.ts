/**
 * How each vsock transport shows up in the plan: the QEMU device and the helper daemon it needs.
 * The runtime side of a transport (listening and connecting) lives in src/transport.
 */
import { planControlNetwork, type ControlNetworkPlan } from './control-network-plan.js';
import type { PlannedHelper } from './helper-plan.js';
import type { MachineLayout } from './machine-layout.js';
import { pciAddress } from './pci-slots.js';
import { escapeOptionValue } from './qemu-syntax.js';

/**
 * The transports the engine can plan; `'none'` is no vsock device at all (SSH over the control
 * network of src/plan/control-network-plan.ts instead).
 */
export type VsockTransportKind = 'user-space' | 'none';

export interface VsockPlan {
  kind: VsockTransportKind;
  qemuArgs: string[];
  /** A daemon that must run before QEMU starts. */
  daemon: PlannedHelper | undefined;
  /** Without vsock: the NIC that carries SSH instead, and the credentials that configure it. */
  control?: ControlNetworkPlan | undefined;
}

/**
 * The credit (`buf_alloc`) vhost-device-vsock advertises to the guest, which bounds the payload of
 * every packet the guest sends. Since Linux 6.17 (and its stable backports, e.g. Debian's 6.12.y),
 * the guest puts a payload of more than about 32 KiB (SKB_WITH_OVERHEAD(PAGE_SIZE <<
 * PAGE_ALLOC_COSTLY_ORDER) minus the 44-byte header) into a non-linear skb that spans several
 * descriptors. vhost-device-vsock 0.3 (through the virtio-vsock crate 0.12) accepts only one data
 * descriptor and silently drops such a packet, which corrupts the stream: SSH saw a MAC error and
 * closed its connection as soon as a command printed about 40 KiB. With a credit below that
 * threshold the guest never builds such a packet. Its default is 64 KiB.
 */
export const USER_SPACE_VSOCK_CREDIT = 30 * 1024;

export function planVsock(kind: VsockTransportKind, layout: MachineLayout, daemonBinary: string, machine: { uuid?: string | undefined; name: string } = { name: 'vm' }): VsockPlan {
  switch (kind) {
    case 'none': {
      const control = planControlNetwork(machine);
      return { kind, qemuArgs: control.qemuArgs, daemon: undefined, control };
    }
    case 'user-space':
      return {
        kind,
        qemuArgs: [
          '-chardev', `socket,id=vsock,path=${escapeOptionValue(layout.vhostUserSocket)}`,
          '-device', `vhost-user-vsock-pci,chardev=vsock,id=vsock0,${pciAddress('vsock')}`,
        ],
        // One daemon per machine, so the guest CID can always be the first one free, 3.
        daemon: {
          name: 'vhost-device-vsock',
          binary: daemonBinary,
          logFile: layout.vsockLog,
          readyPath: layout.vhostUserSocket,
          args: [
            '--guest-cid', '3', '--socket', layout.vhostUserSocket, '--uds-path', layout.vsockSocket,
            '--tx-buffer-size', String(USER_SPACE_VSOCK_CREDIT),
          ],
        },
      };
  }
}
