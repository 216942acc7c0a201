/**
 * The host decisions every machine of a run shares (accelerator, vsock transport, TPM), made once
 * per run in the main process for the plugin's `defaults`, so they are printed once per run rather
 * than once per worker and watch rerun. A test whose own options decide otherwise still says so.
 */
import { chooseAccelerator, type AcceleratorChoice } from '../host/accelerator.js';
import { chooseVsock } from '../host/vsock-choice.js';
import { checkTpm } from '../options/check-tpm.js';
import type { MachineOptions } from '../options/machine-options.js';
import { MACHINE_DEFAULTS } from '../options/resolve-options.js';

export interface HostDecisions {
  accelerator: AcceleratorChoice;
  /** The lines to print, as the machine log words them. */
  lines: string[];
}

export async function decideHost(defaults: MachineOptions): Promise<HostDecisions> {
  const accelerator = await chooseAccelerator(defaults.kvm ?? MACHINE_DEFAULTS.kvm, defaults.qemuBinary ?? MACHINE_DEFAULTS.qemuBinary);
  const vsock = await chooseVsock(defaults.vsock ?? MACHINE_DEFAULTS.vsock);
  const lines = [accelerator.reason, vsock.reason];
  // A TPM with a state directory is checked per machine; the run states the common case.
  const tpmState = defaults.tpmState ?? MACHINE_DEFAULTS.tpmState;
  if (tpmState === 'auto' || tpmState === 'off') {
    const tpm = await checkTpm({ tpm: defaults.tpm ?? MACHINE_DEFAULTS.tpm, tpmStateDir: undefined });
    if ('tpm' in tpm) lines.push(tpm.tpm.reason);
  }
  return { accelerator, lines };
}
