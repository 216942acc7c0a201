/**
 * Whether a QEMU that exited at start-up under kernel vsock should be started again with another
 * guest CID. Pure: the caller reads QEMU's output and draws the random CID.
 */
import { MAX_GUEST_CID, MIN_GUEST_CID } from '../plan/vsock-cid.js';

/** How many times QEMU is started in all before a taken CID fails the boot. */
export const MAX_CID_ATTEMPTS = 5;

/**
 * What QEMU prints when the kernel refuses the CID (hw/virtio/vhost-vsock.c:
 * `error_setg_errno(errp, -ret, "vhost-vsock: unable to set guest cid")`, with strerror(EADDRINUSE)
 * appended), e.g. `qemu-system-x86_64: -device vhost-vsock-pci,guest-cid=3,…: vhost-vsock: unable
 * to set guest cid: Address already in use`.
 */
const CID_TAKEN = /vhost-vsock: unable to set guest cid: Address already in use/;

export interface CidRetryInput {
  /** The end of QEMU's output (stdout and stderr) after it exited. */
  qemuOutput: string;
  /** The CID this attempt used. */
  cid: number;
  /** Which attempt just failed, 1 for the first. */
  attempt: number;
  /** Whether the user chose the CID (`vsockCid`): then it is not replaced. */
  chosenByUser: boolean;
  /** The CID to try next, drawn by the caller. */
  randomCid: number;
}

export type CidRetryDecision =
  | { action: 'retry'; cid: number; reason: string }
  | { action: 'fail'; message: string }
  /** QEMU failed for another reason: the boot's usual failure path explains it. */
  | { action: 'not-a-cid-clash' };

export function decideCidRetry(input: CidRetryInput): CidRetryDecision {
  if (!CID_TAKEN.test(input.qemuOutput)) return { action: 'not-a-cid-clash' };
  if (input.chosenByUser) {
    return {
      action: 'fail',
      message:
        `vsockCid: the guest CID ${input.cid} is taken by another virtual machine on this host (QEMU: "vhost-vsock: unable to set ` +
        `guest cid: Address already in use"). Choose another vsockCid (${MIN_GUEST_CID}..${MAX_GUEST_CID}), or leave it unset to let the engine pick a free one.`,
    };
  }
  if (input.attempt >= MAX_CID_ATTEMPTS) {
    return {
      action: 'fail',
      message:
        `Kernel vsock: ${input.attempt} guest CIDs in a row were taken by other virtual machines on this host (the last was ${input.cid}). ` +
        "Set vsockCid to a CID you know is free, or vsock: 'user-space'.",
    };
  }
  return { action: 'retry', cid: input.randomCid, reason: `vsock: guest CID ${input.cid} is taken by another virtual machine; trying ${input.randomCid}` };
}
