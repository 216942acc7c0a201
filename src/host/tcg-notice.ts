/**
 * What the run's accelerator line adds under TCG: that boots are slow, roughly how slow, and how to
 * get KVM. Printed once per run (the plugin's run announcements, or once per process without it)
 * and kept in each machine's log and summary.json (`acceleratorReason`).
 */

/**
 * TCG translates every guest instruction, where KVM runs them on the CPU: about 10× slower is the
 * usual gap for a boot. Measured without KVM: the default image boots to SSH in about 12–50 s under
 * TCG on a 2-core host (quiet to busy); a boot under KVM could not be measured on that host.
 */
export const TCG_IS_SLOW = 'boots are slow, about 10× slower than under KVM (tens of seconds each instead of a few)';

/** The two things a host needs for KVM; the probe's own reason says which one is missing. */
export const HOW_TO_GET_KVM =
  'for KVM, /dev/kvm must exist and run guests (hardware virtualisation enabled, or nested virtualisation on a VM) and be read-write for this user (the kvm group: usermod -aG kvm $USER, then log in again)';
