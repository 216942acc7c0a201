/**
 * The runtime side of the chosen vsock transport (the plan side is src/plan/vsock-plan.ts); without
 * vsock, the control network's transport, which reaches only SSH.
 */
import type { MachineLayout } from '../plan/machine-layout.js';
import type { VsockTransportKind } from '../plan/vsock-plan.js';
import { ControlNetworkTransport } from './control-network.js';
import { KernelVsock, vsockAddresses } from './kernel-vsock.js';
import { UserSpaceVsock } from './user-space-vsock.js';
import type { VsockTransport } from './vsock-transport.js';

export interface TransportContext {
  layout: MachineLayout;
  /** Where helper processes' PIDs are recorded. */
  pidFile: string;
  /** Path of socat, for kernel vsock. */
  socat: string | undefined;
  /** The guest's CID as of now (a start retried after a CID clash changes it), for kernel vsock. */
  guestCid: () => number | undefined;
}

export function createTransport(kind: VsockTransportKind, context: TransportContext): VsockTransport {
  switch (kind) {
    case 'none':
      return new ControlNetworkTransport();
    case 'user-space':
      return new UserSpaceVsock(context.layout.vsockSocket);
    case 'kernel': {
      const { layout, pidFile, socat, guestCid } = context;
      if (!socat) throw new Error('kernel vsock needs the path of socat');
      return new KernelVsock({
        socat,
        udsPath: layout.vsockSocket,
        logFile: layout.socatLog,
        pidFile,
        addresses: vsockAddresses(() => {
          const cid = guestCid();
          if (cid === undefined) throw new Error('kernel vsock: the guest has no CID yet');
          return cid;
        }),
      });
    }
  }
}
