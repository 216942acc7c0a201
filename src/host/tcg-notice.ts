/**
 * What the run's accelerator line adds under TCG: that boots are slow, roughly how slow, and how to
 * get KVM. Printed once per run (the plugin's run announcements, or once per process without it)
 * and kept in each machine's log and summary.json (`acceleratorReason`).
 */

/**
 * TCG translates every guest instruction: this project's default image boots to SSH in about 12–50 s
 * under TCG on a 2-core host (quiet to busy), where a KVM guest of the same kind boots in a few seconds.
 */
export const TCG_IS_SLOW = 'boots are slow, about 10× slower than under KVM (tens of seconds each instead of a few)';

/** The two things a host needs for KVM; the probe's own reason says which one is missing. */
export const HOW_TO_GET_KVM =
  'for KVM, /dev/kvm must exist and run guests (hardware virtualisation enabled, or nested virtualisation on a VM) and be read-write for this user (add it to the kvm group: usermod -aG kvm $USER, then log in again)';
