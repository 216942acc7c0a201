/**
 * Whether a machine gets a software TPM, decided against the host before anything is spawned:
 * `tpm: 'auto'` attaches one when swtpm and swtpm_setup are installed (as systemd-vmspawn does),
 * `tpm: true` without them is an error naming the option and the packages. A `tpmState` directory
 * must be a directory if it exists (it is created at start otherwise).
 */
import { stat } from 'node:fs/promises';
import type { OptionProblem } from '../errors.js';
import { findExecutable } from '../host/tools.js';
import type { ResolvedMachineOptions } from './resolve-options.js';

/** The TPM a machine gets, with the reason for the machine log. */
export interface TpmChoice {
  /** Resolved paths of the programs, when the machine gets a TPM. */
  binaries: { swtpm: string; swtpmSetup: string } | undefined;
  reason: string;
}

export type FindExecutable = (name: string) => Promise<string | undefined>;

const INSTALL_HINT = 'apt-get install swtpm swtpm-tools (Debian, Ubuntu) or dnf install swtpm swtpm-tools (Fedora)';

export async function checkTpm(
  options: Pick<ResolvedMachineOptions, 'tpm' | 'tpmStateDir'>,
  find: FindExecutable = findExecutable,
): Promise<{ tpm: TpmChoice } | { problems: OptionProblem[] }> {
  if (options.tpm === false) return { tpm: { binaries: undefined, reason: 'TPM: none (tpm: false)' } };
  const [swtpm, swtpmSetup] = await Promise.all([find('swtpm'), find('swtpm_setup')]);
  const missing = [...(swtpm ? [] : ['swtpm (package swtpm)']), ...(swtpmSetup ? [] : ['swtpm_setup (package swtpm-tools)'])];
  const problems: OptionProblem[] = [];
  if (missing.length > 0) {
    const notFound = `${missing.join(' and ')} not found on PATH; install them: ${INSTALL_HINT}`;
    if (options.tpm === true) problems.push({ option: 'tpm', message: `true needs a software TPM, but ${notFound}; or set tpm: 'auto' or false` });
    // A state directory asks for a TPM as clearly as tpm: true does; booting without one would fail later and less clearly.
    else if (options.tpmStateDir !== undefined) {
      problems.push({ option: 'tpmState', message: `is a directory for the TPM state, but there is no TPM to keep it: ${notFound}` });
    } else return { tpm: { binaries: undefined, reason: `TPM: none (tpm: 'auto'; not installed: ${missing.join(', ')})` } };
  }
  if (options.tpmStateDir !== undefined) {
    const problem = await checkStateDir(options.tpmStateDir);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) return { problems };
  const where = options.tpmStateDir === undefined ? 'transient state' : `state in ${options.tpmStateDir}`;
  return {
    tpm: {
      binaries: { swtpm: swtpm!, swtpmSetup: swtpmSetup! },
      reason: `TPM: swtpm, ${where} (tpm: ${options.tpm === true ? 'true' : "'auto', swtpm is installed"})`,
    },
  };
}

async function checkStateDir(path: string): Promise<OptionProblem | undefined> {
  // swtpm reads it from `--tpmstate dir=PATH`, an option list split at commas without an escape.
  if (path.includes(',')) return { option: 'tpmState', message: `swtpm cannot use a state directory whose path contains a comma: ${path}` };
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    if (info.code === 'ENOENT') return undefined;
    return { option: 'tpmState', message: `cannot use ${path}: ${info.message}` };
  }
  if (!info.isDirectory()) return { option: 'tpmState', message: `expected a directory for the TPM state, but ${path} is not one` };
  return undefined;
}
