/**
 * The software TPM in the plan, as systemd-vmspawn sets it up: `swtpm_setup` manufactures the TPM
 * in its state directory unless it already holds one (`--not-overwrite`, so a kept state survives),
 * with the SHA-256 PCR bank only; one `swtpm socket` per machine serves it on a control socket in
 * the machine's runtime directory; QEMU attaches it as a `tpm-tis` device, which vmspawn uses on
 * x86-64 and which works on both the `pc` and the `q35` machine type (an ISA device, no PCI slot).
 */
import type { HelperBinaries, PlannedHelper } from './helper-plan.js';
import type { MachineLayout } from './machine-layout.js';
import { escapeOptionValue } from './qemu-syntax.js';

export interface TpmPlan {
  /** Where swtpm keeps the TPM's state: the user's `tpmState` directory or one in the runtime directory. */
  stateDir: string;
  /** Whether the state is deleted with the machine. */
  transient: boolean;
  daemon: PlannedHelper;
  qemuArgs: string[];
}

/** The TPM of a machine, or undefined when it gets none (no TPM binaries were resolved for it). */
export function planTpm(
  binaries: HelperBinaries['tpm'],
  stateDirOption: string | undefined,
  layout: MachineLayout,
): TpmPlan | undefined {
  if (!binaries) return undefined;
  const stateDir = stateDirOption ?? layout.transientTpmState;
  return {
    stateDir,
    transient: stateDirOption === undefined,
    daemon: {
      name: 'swtpm',
      binary: binaries.swtpm,
      args: ['socket', '--tpm2', '--tpmstate', `dir=${stateDir}`, '--ctrl', `type=unixio,path=${layout.tpmSocket}`],
      logFile: layout.tpmLog,
      readyPath: layout.tpmSocket,
      setup: {
        binary: binaries.swtpmSetup,
        args: ['--tpm-state', stateDir, '--tpm2', '--pcr-banks', 'sha256', '--not-overwrite'],
      },
    },
    qemuArgs: [
      '-chardev', `socket,id=tpm,path=${escapeOptionValue(layout.tpmSocket)}`,
      '-tpmdev', 'emulator,id=tpm0,chardev=tpm',
      '-device', 'tpm-tis,tpmdev=tpm0',
    ],
  };
}
