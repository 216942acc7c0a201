/** The `ram` option against the host: a guest cannot have more memory than the host's RAM and swap. */
import type { OptionProblem } from '../errors.js';
import type { HostMemory } from '../host/host-memory.js';
import { describeBytes, formatSize } from './size.js';

/** The problem with `ramBytes` of guest memory on a host with `host`, or undefined when it fits. */
export function checkRamFitsHost(ramBytes: number, host: HostMemory): OptionProblem | undefined {
  const available = host.ramBytes + host.swapBytes;
  if (ramBytes <= available) return undefined;
  const swap = host.swapBytes > 0 ? ` and ${describeBytes(host.swapBytes)} of swap` : ' and no swap';
  return {
    option: 'ram',
    message: `${formatSize(ramBytes)} is more than this host has (${describeBytes(host.ramBytes)} of memory${swap}): give the guest less, e.g. '1G'`,
  };
}
