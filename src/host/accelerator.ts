/**
 * KVM or TCG. The existence of /dev/kvm proves little: nested or paravirtual KVM can open fine and
 * then hang or crash a guest. With `kvm: 'auto'` a probe runs a few instructions in a throwaway
 * QEMU with exactly the CPU configuration the engine uses for KVM (src/plan/accelerator-plan.ts): a
 * 64 KiB firmware whose reset vector writes to an isa-debug-exit port. A working KVM exits within
 * milliseconds with the expected code; anything else (an error, a crash, a hang) means TCG, and the
 * reason says that boots are slow and how to get KVM.
 */
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { VmspawnError } from '../errors.js';
import type { KvmSetting } from '../options/machine-options.js';
import { KVM_CPU, KVM_MACHINE_PROPERTIES } from '../plan/accelerator-plan.js';
import type { Accelerator } from '../plan/qemu-command.js';
import { HOW_TO_GET_KVM, TCG_IS_SLOW } from './tcg-notice.js';
import { describeKvmAccess } from './kvm-access.js';

export interface AcceleratorChoice {
  accelerator: Accelerator;
  /** Why, for the machine log and summary. */
  reason: string;
}

export interface KvmProbeResult {
  usable: boolean;
  detail: string;
}

const PROBE_EXIT_VALUE = 0x2a;
/** isa-debug-exit makes QEMU exit with (value << 1) | 1. */
const PROBE_EXIT_CODE = (PROBE_EXIT_VALUE << 1) | 1;
const PROBE_TIMEOUT_MS = 5_000;
const DEBUG_EXIT_PORT = 0xf4;

/** Pure decision from the setting, the VMSPAWN_KVM override and (for 'auto') the probe. */
export async function decideAccelerator(
  setting: KvmSetting,
  override: string | undefined,
  probe: () => Promise<KvmProbeResult>,
): Promise<AcceleratorChoice> {
  if (setting === true) return { accelerator: 'kvm', reason: 'accelerator: KVM, as configured (kvm: true)' };
  if (setting === false) return { accelerator: 'tcg', reason: `accelerator: TCG (software emulation), as configured (kvm: false); ${TCG_IS_SLOW}` };
  if (override === '0' || override === '1') {
    const reason = override === '1' ? 'accelerator: KVM, from VMSPAWN_KVM=1' : `accelerator: TCG (software emulation), from VMSPAWN_KVM=0; ${TCG_IS_SLOW}`;
    return { accelerator: override === '1' ? 'kvm' : 'tcg', reason };
  }
  const result = await probe();
  return result.usable
    ? { accelerator: 'kvm', reason: `accelerator: KVM (${result.detail})` }
    : { accelerator: 'tcg', reason: `accelerator: TCG (software emulation), because KVM is not usable here: ${result.detail}; ${TCG_IS_SLOW}; ${HOW_TO_GET_KVM}` };
}

/** The firmware the probe boots: zeros, and at the reset vector `mov al, 42; out 0xf4, al; hlt; jmp $-1`. */
export function probeFirmware(): Buffer {
  const firmware = Buffer.alloc(64 * 1024);
  const resetVector = firmware.length - 16;
  Buffer.from([0xb0, PROBE_EXIT_VALUE, 0xe6, DEBUG_EXIT_PORT, 0xf4, 0xeb, 0xfd]).copy(firmware, resetVector);
  return firmware;
}

const probes = new Map<string, Promise<KvmProbeResult>>();

/** Runs the probe once per QEMU binary and process. */
export function probeKvm(qemuBinary: string): Promise<KvmProbeResult> {
  let probe = probes.get(qemuBinary);
  if (!probe) {
    probe = runProbe(qemuBinary);
    probes.set(qemuBinary, probe);
  }
  return probe;
}

async function runProbe(qemuBinary: string): Promise<KvmProbeResult> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { usable: false, detail: code === 'ENOENT' ? '/dev/kvm does not exist' : await describeKvmAccess(code ?? 'EACCES') };
  }
  const dir = await mkdtemp(join(tmpdir(), 'vitest-vmspawn-kvm-probe-')).catch((error: NodeJS.ErrnoException) => {
    throw new VmspawnError(
      `Cannot create the KVM probe's temporary directory in "${tmpdir()}" (${error.code ?? error.message}): set TMPDIR to an existing, writable directory, or VMSPAWN_KVM=0/1 to skip the probe.`,
      { cause: error },
    );
  });
  try {
    const firmware = join(dir, 'probe.bin');
    await writeFile(firmware, probeFirmware());
    const started = performance.now();
    const result = await execa(
      qemuBinary,
      ['-accel', 'kvm', '-cpu', KVM_CPU, '-machine', ['pc', ...KVM_MACHINE_PROPERTIES].join(','), '-m', '16', '-nodefaults', '-no-user-config', '-display', 'none',
        '-bios', firmware, '-device', `isa-debug-exit,iobase=0x${DEBUG_EXIT_PORT.toString(16)},iosize=0x04`],
      { reject: false, timeout: PROBE_TIMEOUT_MS, all: true, stdin: 'ignore' },
    );
    const took = Math.round(performance.now() - started);
    if (result.exitCode === PROBE_EXIT_CODE) return { usable: true, detail: `probe guest ran in ${took} ms` };
    if (result.timedOut) return { usable: false, detail: `a probe guest under KVM made no progress within ${PROBE_TIMEOUT_MS} ms` };
    const firstLine = result.all?.trim().split('\n')[0]?.replace(/^[^:]*qemu[^:]*: /, '') ?? '';
    return { usable: false, detail: `a probe guest under KVM failed (${result.signal ?? `exit ${result.exitCode}`}${firstLine ? `: ${firstLine}` : ''})` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function chooseAccelerator(setting: KvmSetting, qemuBinary: string): Promise<AcceleratorChoice> {
  if (setting === true) {
    try {
      await access('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch {
      throw new VmspawnError('kvm: true, but /dev/kvm is missing or not accessible. Use kvm: "auto" to fall back to TCG, or fix access to /dev/kvm.');
    }
  }
  return decideAccelerator(setting, process.env.VMSPAWN_KVM, () => probeKvm(qemuBinary));
}
