/**
 * The command line of `vitest-vmspawn check`, read into what the check needs. Every bad value is a
 * UsageError naming its flag, before anything starts. Machine flags keep systemd-vmspawn's names.
 */
import { parseArgs } from 'node:util';
import { AllowPatternError, parseAllowPattern } from '../../check/allow-list.js';
import type { JournalMatch } from '../../journal/journal-entry.js';
import type { MachineOptions } from '../../options/machine-options.js';
import { flagOfOption as runFlagOfOption } from '../run-flags.js';
import { parseRunArguments } from '../run-options.js';
import { asUsageError, UsageError } from '../usage-error.js';

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
export function parseCheckFlags(argv: readonly string[], cwd: string = process.cwd()): CheckInvocation {
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
    machine: machineOptions(values, tokens, source, cwd),
  };
}

type Values = ReturnType<typeof parseFlags>['values'];
type Tokens = ReturnType<typeof parseFlags>['tokens'];

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw asUsageError(error);
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

/** check's flags that set machine options: `run`'s, parsed by `run`'s own rules (one meaning for each flag). */
const MACHINE_FLAGS = ['machine', 'cpus', 'ram', 'kvm', 'vsock', 'firmware', 'secure-boot', 'tpm', 'set-credential'] as const;

function machineOptions(values: Values, tokens: Tokens, source: CheckSource, cwd: string): Partial<MachineOptions> {
  const runArgv = tokens.flatMap((token) =>
    token.kind === 'option' && (MACHINE_FLAGS as readonly string[]).includes(token.name) ? [`--${token.name}=${token.value ?? ''}`] : [],
  );
  const request = parseRunArguments(runArgv, { env: {}, cwd, interactiveTerminal: false });
  if (request.action !== 'boot') throw new UsageError('--firmware=list lists the firmware with vitest-vmspawn firmware, not in a check.');
  const options: Partial<MachineOptions> = { ...request.options };
  if (values.linux !== undefined && source.kind !== 'linux') {
    options.linux = values.linux;
    options.initrd = values.initrd ?? [];
  }
  return options;
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

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === '') throw new UsageError(`${flag}: the value is empty.`);
  return value;
}

function emptyInvocation(): CheckInvocation {
  return { help: false, source: { kind: 'default-image' }, kernelArgs: [], json: false, junit: undefined, bootTimeoutMs: undefined, allow: { patterns: [], matches: [] }, artifactsDir: undefined, machine: {} };
}

/** The options whose flag in check differs from run's. */
const CHECK_FLAG_OF_OPTION: Record<string, string> = {
  image: 'IMAGE',
  bootTimeout: '--timeout',
  artifactsDir: '--artifacts',
  kernelArgs: 'kernel arguments (after --)',
};

/** The flag of a machine option the engine rejected (`setCredential.x` → `--set-credential`), or the option itself. */
export function flagOfOption(option: string): string {
  return CHECK_FLAG_OF_OPTION[option.split('.')[0]!] ?? runFlagOfOption(option) ?? option;
}
