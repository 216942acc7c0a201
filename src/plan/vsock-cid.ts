/**
 * The guest's vsock CID under kernel vsock, where CIDs are global to the host: derived from the
 * machine name as systemd-vmspawn derives it (src/vmspawn/vmspawn-util.c, vsock_fix_child_cid()):
 * SipHash-2-4 of the name followed by an attempt counter (a 32-bit little-endian unsigned int),
 * under a fixed key, mapped to 3 + hash % (UINT_MAX - 4). vmspawn asks the kernel for each candidate
 * with the VHOST_VSOCK_SET_GUEST_CID ioctl (64 derived ones, then 64 random ones) before it starts
 * QEMU; here QEMU does that ioctl itself, so a CID that is taken shows as QEMU exiting at start-up
 * (see src/machine/qemu-launch.ts), and the next attempt takes a random CID.
 */

import { siphash24 } from '../util/siphash24.js';
import { USER_SPACE_GUEST_CID, type VsockTransportKind } from './vsock-plan.js';

/** The lowest CID a guest may have: 0 (hypervisor), 1 (local) and 2 (host) are reserved. */
export const MIN_GUEST_CID = 3;
/** The highest: 0xFFFFFFFF is VMADDR_CID_ANY. */
export const MAX_GUEST_CID = 0xffff_fffe;

/** systemd-vmspawn's key for the CID hash ("an arbitrary value picked from /dev/urandom"). */
const VMSPAWN_CID_KEY = Uint8Array.from([0x03, 0xad, 0xf0, 0xa4, 0x59, 0x2c, 0x77, 0x11, 0xda, 0x39, 0x0c, 0xba, 0xf5, 0x4c, 0x80, 0x52]);
const UINT_MAX = 0xffff_ffffn;

/** The CID systemd-vmspawn tries for machine `name` in its attempt `index` (0 first). */
export function cidFromMachineName(name: string, index = 0): number {
  const nameBytes = new TextEncoder().encode(name);
  const message = new Uint8Array(nameBytes.length + 4);
  message.set(nameBytes);
  new DataView(message.buffer).setUint32(nameBytes.length, index, true);
  return Number(3n + (siphash24(message, VMSPAWN_CID_KEY) % (UINT_MAX - 4n)));
}

/** The guest CID of a machine's first QEMU start: the user's, else derived from the name (kernel) or 3 (user-space); none without vsock. */
export function firstGuestCid(kind: VsockTransportKind, vsockCid: number | undefined, name: string): number | undefined {
  if (kind === 'none') return undefined;
  return vsockCid ?? (kind === 'kernel' ? cidFromMachineName(name) : USER_SPACE_GUEST_CID);
}
