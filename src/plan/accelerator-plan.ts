/**
 * The accelerator's part of the QEMU command line. TCG runs as it always has (QEMU's default CPU
 * model and timers). Under KVM the guest gets what systemd-vmspawn gives it on x86-64: the host's
 * CPU with its features passed through (`-cpu host`, which is vmspawn's `max` under KVM) plus
 * vmspawn's Hyper-V enlightenments (`hv-relaxed,hv-vapic,hv-time`: relaxed timing checks, a
 * paravirtual APIC and a reference TSC page; inert for a Linux guest, which keeps KVM's own
 * paravirtual clock, and what a Windows guest needs to run at speed), and no emulated HPET
 * (`hpet=off`, as vmspawn's machine type has it: a guest under KVM uses kvm-clock and the TSC, and
 * an HPET only adds timer exits). The KVM probe (src/host/accelerator.ts) runs exactly this CPU.
 */
import type { Accelerator } from './qemu-command.js';

/** `-cpu` under KVM: the host CPU with systemd-vmspawn's Hyper-V enlightenments. */
export const KVM_CPU = 'host,hv-relaxed,hv-vapic,hv-time';

/** Machine properties (`-machine pc,…`) under KVM. */
export const KVM_MACHINE_PROPERTIES: readonly string[] = ['hpet=off'];

export interface AcceleratorPlan {
  /** `-accel …` and, under KVM, `-cpu …`. */
  qemuArgs: string[];
  /** Properties appended to the `-machine` option. */
  machineProperties: readonly string[];
}

export function planAccelerator(accelerator: Accelerator): AcceleratorPlan {
  if (accelerator === 'tcg') return { qemuArgs: ['-accel', 'tcg'], machineProperties: [] };
  return { qemuArgs: ['-accel', 'kvm', '-cpu', KVM_CPU], machineProperties: KVM_MACHINE_PROPERTIES };
}
