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
 * The transports the engine can plan: user-space vsock (vhost-device-vsock) and the kernel's
 * (`vhost-vsock-pci` on /dev/vhost-vsock).
 */
export type VsockTransportKind = 'kernel' | 'user-space' | 'none';

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

/** The guest's CID when one daemon serves one machine (user-space vsock) and the user chose none. */
export const USER_SPACE_GUEST_CID = 3;

/**
 * @param guestCid the guest's CID: for kernel vsock, global to the host (see src/plan/vsock-cid.ts);
 *   for user-space vsock, the user's `vsockCid` or 3; none without vsock.
 */
export function planVsock(
  kind: VsockTransportKind,
  layout: MachineLayout,
  daemonBinary: string | undefined,
  guestCid: number | undefined,
  machine: { uuid?: string | undefined; name: string } = { name: 'vm' },
): VsockPlan {
  switch (kind) {
    case 'none': {
      const control = planControlNetwork(machine);
      return { kind, qemuArgs: control.qemuArgs, daemon: undefined, control };
    }
    case 'kernel':
      if (guestCid === undefined) throw new Error('kernel vsock needs a guest CID');
      // QEMU opens /dev/vhost-vsock itself; the host side needs no daemon (socat bridges are per port, at run time).
      return { kind, qemuArgs: ['-device', `vhost-vsock-pci,guest-cid=${guestCid},id=vsock0,${pciAddress('vsock')}`], daemon: undefined };
    case 'user-space':
      if (daemonBinary === undefined) throw new Error('user-space vsock needs the path of vhost-device-vsock');
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
            '--guest-cid', String(guestCid ?? USER_SPACE_GUEST_CID), '--socket', layout.vhostUserSocket, '--uds-path', layout.vsockSocket,
            '--tx-buffer-size', String(USER_SPACE_VSOCK_CREDIT),
          ],
        },
      };
  }
}
