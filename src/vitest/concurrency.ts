/**
 * How many test files may run at once when the user set no `maxWorkers`: every worker may boot a
 * guest, and guests are heavy. Under TCG each guest CPU keeps a host core busy while it boots, so
 * there is one worker per `cpus` host cores; under KVM a guest costs far less CPU, and the host's
 * cores are the limit as for any test. Memory bounds both: each guest takes its `ram` plus what
 * QEMU and the helpers need, and the host keeps a reserve.
 */
import type { Accelerator } from '../plan/qemu-command.js';

/** What QEMU, vhost-device-vsock and the worker need beside the guest's own memory. */
export const PER_MACHINE_OVERHEAD_BYTES = 256 * 1024 ** 2;
/** Memory left to the host and the test runner. */
export const HOST_RESERVE_BYTES = 1024 ** 3;

export interface ConcurrencyInput {
  /** Host CPUs (os.availableParallelism()). */
  cores: number;
  accelerator: Accelerator;
  /** Memory the host has available now (os.freemem()). */
  availableMemoryBytes: number;
  /** The guests' memory and CPUs, from the plugin's `defaults`. */
  guestRamBytes: number;
  guestCpus: number;
}

export interface ConcurrencyPlan {
  maxWorkers: number;
  /** Why, in a line. */
  reason: string;
}

export function planMaxWorkers({ cores, accelerator, availableMemoryBytes, guestRamBytes, guestCpus }: ConcurrencyInput): ConcurrencyPlan {
  const byCpu = accelerator === 'tcg' ? Math.max(1, Math.floor(cores / Math.max(1, guestCpus))) : Math.max(1, cores);
  const perMachine = guestRamBytes + PER_MACHINE_OVERHEAD_BYTES;
  const byMemory = Math.max(1, Math.floor((availableMemoryBytes - HOST_RESERVE_BYTES) / perMachine));
  const maxWorkers = Math.min(byCpu, byMemory);
  const cpuPart =
    accelerator === 'tcg'
      ? `${cores} host CPUs under TCG, ${guestCpus} per guest`
      : `${cores} host CPUs under KVM`;
  const memoryPart = `${gib(availableMemoryBytes)} GiB memory available, ${gib(perMachine)} GiB per guest`;
  const limit = byMemory < byCpu ? `memory allows ${byMemory}` : `CPUs allow ${byCpu}`;
  return { maxWorkers, reason: `maxWorkers: ${maxWorkers} (${cpuPart}; ${memoryPart}: ${limit}); set test.maxWorkers to choose` };
}

function gib(bytes: number): string {
  return (bytes / 1024 ** 3).toFixed(1).replace(/\.0$/, '');
}
