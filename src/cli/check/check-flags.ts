/**
 * The command line of `vitest-vmspawn check`, read into what the check needs. Every bad value is a
 * UsageError naming its flag, before anything starts. Machine flags keep systemd-vmspawn's names.
 */
import { parseArgs } from 'node:util';
import { AllowPatternError, parseAllowPattern } from '../../check/allow-list.js';
import type { JournalMatch } from '../../journal/journal-entry.js';
import type { KvmSetting, MachineOptions, SecureBootSetting, TpmSetting, VsockSetting } from '../../options/machine-options.js';
import { parseSetCredential } from '../credential-flags.js';
import { parseTristateValue } from '../flag-values.js';
import { UsageError } from '../usage-error.js';

/** What the check boots. */
export type CheckSource =
  | { kind: 'default-image' }
  | { kind: 'image'; path: string }
  | { kind: 'directory'; path: string }
  | { kind: 'linux'; path: string; initrd: string[] };

export interface CheckInvocation {
  help: boolean;
  source: CheckSource;
  /** Kernel arguments after `--`. */
  kernelArgs: string[];
  /** Print the JSON report instead of the human summary. */
  json: boolean;
  /** Where to write the JUnit XML, if anywhere. */
  junit: string | undefined;
  /** Boot timeout in milliseconds, from `--timeout` in seconds. */
  bootTimeoutMs: number | undefined;
  allow: { patterns: string[]; matches: JournalMatch[] };
  artifactsDir: string | undefined;
  /** The machine options the flags set (name, cpus, ram, kvm, vsock, firmware, secureBoot, tpm, setCredential). */
  machine: Partial<MachineOptions>;
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  directory: { type: 'string', short: 'D' },
  image: { type: 'string', short: 'i' },
  linux: { type: 'string' },
  initrd: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  junit: { type: 'string' },
  timeout: { type: 'string' },
  allow: { type: 'string', multiple: true },
  artifacts: { type: 'string' },
  /** `run`'s name for `--artifacts`. */
  'artifacts-dir': { type: 'string' },
  machine: { type: 'string', short: 'M' },
  cpus: { type: 'string' },
  ram: { type: 'string' },
  kvm: { type: 'string' },
  vsock: { type: 'string' },
  firmware: { type: 'string' },
  'secure-boot': { type: 'string' },
  tpm: { type: 'string' },
  'set-credential': { type: 'string', multiple: true },
} as const;

/** Reads `argv` (the words after `check`); throws a UsageError naming the flag that is wrong. */
export function parseCheckFlags(argv: readonly string[]): CheckInvocation {
  const { values, positionals, tokens } = parseFlags(argv);
  const terminator = tokens.find((token) => token.kind === 'option-terminator')?.index;
  const before = tokens.flatMap((token) => (token.kind === 'positional' && (terminator === undefined || token.index < terminator) ? [token.value] : []));
  const kernelArgs = positionals.slice(before.length);
  if (values.help) return { ...emptyInvocation(), help: true };
  const source = sourceOf(values, before);
  return {
    help: false,
    source,
    kernelArgs,
    json: values.json ?? false,
    junit: nonEmpty('--junit', values.junit),
    bootTimeoutMs: values.timeout === undefined ? undefined : timeoutMs(values.timeout),
    allow: allowList(values.allow ?? []),
    artifactsDir: artifactsDirOf(values),
    machine: machineOptions(values, source),
  };
}

type Values = ReturnType<typeof parseFlags>['values'];

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    // node's messages name the flag ("Unknown option '--rma'", "Option '--ram <value>' argument missing").
    throw new UsageError(`${(error as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '')}.`.replace(/\.\.$/, '.'));
  }
}

function sourceOf(values: Values, positionals: string[]): CheckSource {
  if (positionals.length > 1) throw new UsageError(`check takes at most one IMAGE; got ${positionals.length}: ${positionals.join(' ')}. Kernel arguments go after --.`);
  const image = positionals[0] ?? nonEmpty('--image', values.image);
  if (positionals[0] !== undefined && values.image !== undefined) throw new UsageError('IMAGE and --image both name an image; give one.');
  const directory = nonEmpty('--directory', values.directory);
  const linux = nonEmpty('--linux', values.linux);
  const initrd = values.initrd ?? [];
  if (image !== undefined && directory !== undefined) throw new UsageError('IMAGE and --directory both name what to boot; give one.');
  if (initrd.length > 0 && linux === undefined) throw new UsageError('--initrd needs --linux (the kernel to boot it with).');
  if (initrd.some((path) => path === '')) throw new UsageError('--initrd: expected a file path, got an empty value.');
  // A kernel with an image or directory boots that root with the host's kernel; the image or directory is the source.
  if (image !== undefined) return { kind: 'image', path: image };
  if (directory !== undefined) return { kind: 'directory', path: directory };
  if (linux !== undefined) return { kind: 'linux', path: linux, initrd };
  return { kind: 'default-image' };
}

function machineOptions(values: Values, source: CheckSource): Partial<MachineOptions> {
  const options: Partial<MachineOptions> = {};
  if (values.linux !== undefined && source.kind !== 'linux') {
    options.linux = values.linux;
    options.initrd = values.initrd ?? [];
  }
  if (values.machine !== undefined) options.name = values.machine;
  if (values.cpus !== undefined) options.cpus = positiveInteger('--cpus', values.cpus);
  if (values.ram !== undefined) options.ram = nonEmpty('--ram', values.ram)!;
  if (values.kvm !== undefined) options.kvm = parseTristateValue('--kvm', values.kvm) satisfies KvmSetting;
  if (values.vsock !== undefined) options.vsock = vsockSetting(values.vsock);
  if (values.firmware !== undefined) options.firmware = nonEmpty('--firmware', values.firmware)!;
  if (values['secure-boot'] !== undefined) options.secureBoot = parseTristateValue('--secure-boot', values['secure-boot']) satisfies SecureBootSetting;
  if (values.tpm !== undefined) options.tpm = parseTristateValue('--tpm', values.tpm) satisfies TpmSetting;
  if (values['set-credential'] !== undefined) options.setCredential = Object.fromEntries(values['set-credential'].map((argument) => {
      const { id, value } = parseSetCredential(argument);
      return [id, value];
    }));
  return options;
}

/** `--vsock=yes|no|auto` as vmspawn, and the engine's own `kernel` and `user-space`; `yes` lets the engine pick the transport. */
function vsockSetting(value: string): VsockSetting {
  if (value === 'kernel' || value === 'user-space') return value;
  try {
    const setting = parseTristateValue('--vsock', value);
    return setting === true ? 'auto' : setting;
  } catch {
    throw new UsageError(`--vsock: ${JSON.stringify(value)} is not accepted; use yes, no, auto, kernel or user-space.`);
  }
}

function allowList(patterns: string[]): CheckInvocation['allow'] {
  try {
    return { patterns, matches: patterns.map(parseAllowPattern) };
  } catch (error) {
    if (error instanceof AllowPatternError || error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
}

function artifactsDirOf(values: Values): string | undefined {
  if (values.artifacts !== undefined && values['artifacts-dir'] !== undefined) throw new UsageError('--artifacts and --artifacts-dir are the same flag; give one.');
  return values.artifacts !== undefined ? nonEmpty('--artifacts', values.artifacts) : nonEmpty('--artifacts-dir', values['artifacts-dir']);
}

function timeoutMs(value: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(seconds > 0) || seconds * 1000 > 2 ** 31 - 1) {
    throw new UsageError(`--timeout: ${JSON.stringify(value)} is not a boot timeout; give seconds, a positive number up to 2147483 (e.g. --timeout 300).`);
  }
  return Math.round(seconds * 1000);
}

function positiveInteger(flag: string, value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a positive whole number (e.g. ${flag}=2).`);
  return Number(value);
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === '') throw new UsageError(`${flag}: the value is empty.`);
  return value;
}

function emptyInvocation(): CheckInvocation {
  return { help: false, source: { kind: 'default-image' }, kernelArgs: [], json: false, junit: undefined, bootTimeoutMs: undefined, allow: { patterns: [], matches: [] }, artifactsDir: undefined, machine: {} };
}

const FLAG_OF_OPTION: Record<string, string> = {
  linux: '--linux',
  initrd: '--initrd',
  image: 'IMAGE',
  directory: '--directory',
  cpus: '--cpus',
  ram: '--ram',
  kvm: '--kvm',
  vsock: '--vsock',
  firmware: '--firmware',
  secureBoot: '--secure-boot',
  tpm: '--tpm',
  setCredential: '--set-credential',
  name: '--machine',
  bootTimeout: '--timeout',
  artifactsDir: '--artifacts',
  kernelArgs: 'kernel arguments (after --)',
};

/** The flag of a machine option the engine rejected (`setCredential.x` → `--set-credential`), or the option itself. */
export function flagOfOption(option: string): string {
  return FLAG_OF_OPTION[option.split('.')[0]!] ?? option;
}
