/**
 * Validation of machine options and filling in of defaults. Pure: no file system access
 * (see check-paths.ts for the part that looks at files).
 */
import { resolve as resolvePath } from 'node:path';
import type { z } from 'zod';
import { InvalidOptionsError, type OptionProblem } from '../errors.js';
import { RATE_LIMIT_DROPIN_CREDENTIAL, RATE_LIMIT_TMPFILES_CREDENTIAL } from '../plan/journald-rate-limit.js';
import { MAX_SHARES } from '../plan/virtiofs-plan.js';
import { parseBindSpec, type BindMount } from './bind-spec.js';
import { diskNetworkKeysAt } from './disk-network-schema.js';
import type { ImageFormat, KvmSetting, MachineOptions, SecureBootSetting, TpmSetting, VsockSetting } from './machine-options.js';
import { crossCheckDisksAndNetwork, resolveDisksAndNetwork, type ResolvedDisksAndNetwork } from './resolve-disks-network.js';
import { MACHINE_OPTION_NAMES, machineOptionsSchema } from './schema.js';
import { parseSize } from './size.js';
import { checkSmbiosCapacity, kernelArgsStringCount, userSmbiosStrings } from './smbios-capacity.js';
import { unknownOptionProblem } from './suggest.js';

/** Options with every default applied and values normalised. */
export interface ResolvedMachineOptions extends ResolvedDisksAndNetwork {
  linux: string | undefined;
  initrds: string[];
  image: string | undefined;
  imageFormat: ImageFormat;
  /** Absolute path of the OS tree to boot over virtiofs. */
  directory: string | undefined;
  ephemeral: boolean;
  /** `bind` entries, then `bindReadOnly` entries, parsed. */
  binds: BindMount[];
  cpus: number;
  ramBytes: number;
  kvm: KvmSetting;
  vsock: VsockSetting;
  /** The guest's vsock CID the user chose, or undefined: the engine's choice. */
  vsockCid: number | undefined;
  tpm: TpmSetting;
  /** The directory that keeps the TPM state across machines (absolute), or undefined: transient. */
  tpmStateDir: string | undefined;
  kernelArgs: string[];
  firmware: string | undefined;
  secureBoot: SecureBootSetting;
  setCredential: Record<string, Uint8Array>;
  loadCredential: Record<string, string>;
  smbios11: string[];
  ssh: boolean;
  notifyReady: boolean;
  forwardJournal: boolean;
  journalRateLimit: boolean;
  bootTimeout: number;
  shutdownTimeout: number;
  artifactsDir: string | undefined;
  name: string;
  /** Given by the user, or undefined: each start then gets a fresh random UUID. */
  uuid: string | undefined;
  consoleSocket: string | undefined;
  qemuBinary: string;
  qemuArgs: string[];
}

export const MACHINE_DEFAULTS = {
  cpus: 1,
  ram: '1G',
  kvm: 'auto',
  vsock: 'auto',
  secureBoot: 'auto',
  tpm: 'auto',
  tpmState: 'auto',
  imageFormat: 'auto',
  ephemeral: true,
  ssh: true,
  notifyReady: true,
  forwardJournal: true,
  journalRateLimit: false,
  bootTimeout: 120_000,
  shutdownTimeout: 20_000,
  name: 'vm',
  qemuBinary: 'qemu-system-x86_64',
} as const satisfies MachineOptions;

/**
 * Credentials the engine sets itself. The user cannot set these: they carry the readiness
 * channel, the journal destination and the guest's hostname.
 */
export const ENGINE_CREDENTIALS: Readonly<Record<string, string>> = {
  'vmm.notify_socket': 'the engine listens for readiness and exit status there',
  'journal.forward_to_socket': 'the engine receives the journal there; set forwardJournal: false to pass your own',
  'system.hostname': 'set the name option instead',
  [RATE_LIMIT_TMPFILES_CREDENTIAL]: 'it lifts journald\'s rate limit; set journalRateLimit: true to pass your own',
  [RATE_LIMIT_DROPIN_CREDENTIAL]: 'it lifts journald\'s rate limit; set journalRateLimit: true to pass your own',
};

/** Without vsock, SSH is the only way the engine sees the guest become ready. */
export const NO_VSOCK_WITHOUT_SSH: OptionProblem = {
  option: 'vsock',
  message:
    'is false and ssh is false too: without vsock the engine learns that the guest is ready only over SSH. ' +
    "Set ssh: true (the default), or use vsock ('auto' or 'user-space')",
};

/** Validates options and applies defaults. Throws {@link InvalidOptionsError} listing every problem. */
export function resolveMachineOptions(input: unknown): ResolvedMachineOptions {
  const parsed = machineOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new InvalidOptionsError(describeIssues(parsed.error.issues, (path) => diskNetworkKeysAt(path) ?? MACHINE_OPTION_NAMES));
  }
  const options = parsed.data;
  const binds = parseBinds(options);
  const problems = [...crossCheck(options), ...('problems' in binds ? binds.problems : [])];
  if (problems.length > 0 || 'problems' in binds) throw new InvalidOptionsError(problems);

  const resolved: ResolvedMachineOptions = {
    linux: options.linux,
    initrds: options.initrd === undefined ? [] : [options.initrd].flat(),
    image: options.image,
    imageFormat: options.imageFormat ?? MACHINE_DEFAULTS.imageFormat,
    directory: options.directory === undefined ? undefined : resolvePath(options.directory),
    ephemeral: options.ephemeral ?? MACHINE_DEFAULTS.ephemeral,
    binds: binds.binds,
    cpus: options.cpus ?? MACHINE_DEFAULTS.cpus,
    ramBytes: parseSize(options.ram ?? MACHINE_DEFAULTS.ram) ?? 0,
    kvm: options.kvm ?? MACHINE_DEFAULTS.kvm,
    vsock: options.vsock ?? MACHINE_DEFAULTS.vsock,
    vsockCid: options.vsockCid,
    tpm: options.tpm ?? MACHINE_DEFAULTS.tpm,
    tpmStateDir: tpmStateDirectory(options.tpmState ?? MACHINE_DEFAULTS.tpmState),
    kernelArgs: options.kernelArgs ?? [],
    firmware: options.firmware,
    secureBoot: options.secureBoot ?? MACHINE_DEFAULTS.secureBoot,
    setCredential: Object.fromEntries(
      Object.entries(options.setCredential ?? {}).map(([name, value]) => [
        name,
        typeof value === 'string' ? new TextEncoder().encode(value) : value,
      ]),
    ),
    loadCredential: options.loadCredential ?? {},
    smbios11: options.smbios11 ?? [],
    ssh: options.ssh ?? MACHINE_DEFAULTS.ssh,
    notifyReady: options.notifyReady ?? MACHINE_DEFAULTS.notifyReady,
    forwardJournal: options.forwardJournal ?? MACHINE_DEFAULTS.forwardJournal,
    journalRateLimit: options.journalRateLimit ?? MACHINE_DEFAULTS.journalRateLimit,
    bootTimeout: options.bootTimeout ?? MACHINE_DEFAULTS.bootTimeout,
    shutdownTimeout: options.shutdownTimeout ?? MACHINE_DEFAULTS.shutdownTimeout,
    artifactsDir: options.artifactsDir,
    name: options.name ?? MACHINE_DEFAULTS.name,
    uuid: options.uuid?.toLowerCase(),
    consoleSocket: options.consoleSocket,
    qemuBinary: options.qemuBinary ?? MACHINE_DEFAULTS.qemuBinary,
    qemuArgs: options.qemuArgs ?? [],
    ...resolveDisksAndNetwork(options),
  };
  // Values given inline are measured now; loadCredential's files when the machine starts. A memory
  // size too large for SMBIOS is beyond any host too: the start reports it against the host's memory.
  const tooLarge = checkSmbiosCapacity(userSmbiosStrings(resolved, {}, kernelArgsStringCount(resolved, undefined)), resolved.ramBytes).filter((problem) => problem.option !== 'ram');
  if (tooLarge.length > 0) throw new InvalidOptionsError(tooLarge);
  return resolved;
}

function crossCheck(options: z.infer<typeof machineOptionsSchema>): OptionProblem[] {
  const problems: OptionProblem[] = [];
  if (options.linux === undefined && options.image === undefined && options.directory === undefined) {
    problems.push({
      option: 'linux',
      message:
        'nothing to boot: give linux (a kernel, with initrd) for direct kernel boot, image (a raw or qcow2 disk image), ' +
        'or directory (an OS tree, shared over virtiofs)',
    });
  }
  if (options.linux === undefined && options.initrd !== undefined && [options.initrd].flat().length > 0) {
    problems.push({ option: 'initrd', message: 'an initrd is only used with direct kernel boot: give linux too' });
  }
  if (options.image === undefined && options.imageFormat !== undefined) {
    problems.push({ option: 'imageFormat', message: 'is the format of image, but no image is given: give image too, or drop imageFormat' });
  }
  if (options.tpm === false && options.tpmState !== undefined) {
    problems.push({ option: 'tpmState', message: 'is where the TPM keeps its state, but tpm is false: drop tpmState, or set tpm to true or \'auto\'' });
  }
  problems.push(...directoryProblems(options));
  if (options.vsock === false && options.ssh === false) problems.push(NO_VSOCK_WITHOUT_SSH);
  const credentialNames = [...Object.keys(options.setCredential ?? {}), ...Object.keys(options.loadCredential ?? {})];
  for (const name of credentialNames) {
    const reason = ENGINE_CREDENTIALS[name];
    const optional =
      (name === 'journal.forward_to_socket' && options.forwardJournal === false) ||
      ([RATE_LIMIT_TMPFILES_CREDENTIAL, RATE_LIMIT_DROPIN_CREDENTIAL].includes(name) && options.journalRateLimit === true);
    if (reason && !optional) problems.push({ option: `credential ${name}`, message: `is set by vitest-vmspawn (${reason})` });
  }
  for (const name of Object.keys(options.setCredential ?? {})) {
    if (options.loadCredential && name in options.loadCredential) {
      problems.push({ option: `credential ${name}`, message: 'is given in both setCredential and loadCredential: keep one' });
    }
  }
  problems.push(...crossCheckDisksAndNetwork(options));
  return problems;
}

/** `'auto'` and `'off'` are both transient (see MachineOptions.tpmState); anything else is a directory. */
function tpmStateDirectory(setting: string): string | undefined {
  return setting === 'auto' || setting === 'off' ? undefined : resolvePath(setting);
}

/** `directory` and `ephemeral` against the other ways to boot. */
function directoryProblems(options: z.infer<typeof machineOptionsSchema>): OptionProblem[] {
  const problems: OptionProblem[] = [];
  if (options.directory !== undefined && options.image !== undefined) {
    problems.push({ option: 'directory', message: 'and image are two roots to boot (vmspawn --directory and --image): give one of them' });
  }
  if (options.ephemeral === false && options.directory === undefined) {
    problems.push({
      option: 'ephemeral',
      message: 'false shares directory writable, but no directory is given (an image is always booted through a throwaway overlay): give directory, or drop ephemeral',
    });
  }
  const binds = (options.bind?.length ?? 0) + (options.bindReadOnly?.length ?? 0);
  if (binds > 0 && options.loadCredential && 'fstab.extra' in options.loadCredential) {
    problems.push({
      option: 'credential fstab.extra',
      message: 'carries the mounts of bind and bindReadOnly, merged with yours: pass your lines with setCredential instead of loadCredential',
    });
  }
  return problems;
}

/** Every `bind` and `bindReadOnly` entry parsed, or the problems found in them. */
function parseBinds(options: z.infer<typeof machineOptionsSchema>): { binds: BindMount[] } | { problems: OptionProblem[] } {
  const binds: BindMount[] = [];
  const problems: OptionProblem[] = [];
  const entries = [
    ...(options.bind ?? []).map((spec, index) => ({ spec, readOnly: false, option: `bind[${index}]` })),
    ...(options.bindReadOnly ?? []).map((spec, index) => ({ spec, readOnly: true, option: `bindReadOnly[${index}]` })),
  ];
  for (const { spec, readOnly, option } of entries) {
    const parsed = parseBindSpec(spec, readOnly, option, process.cwd());
    if ('problem' in parsed) problems.push({ option, message: parsed.problem });
    else {
      const earlier = binds.find((bind) => bind.target === parsed.bind.target);
      if (earlier) problems.push({ option, message: `mounts at ${parsed.bind.target} in the guest, as ${earlier.option} does already: give each its own guest path` });
      else binds.push(parsed.bind);
    }
  }
  const limit = MAX_SHARES - (options.directory === undefined ? 0 : 1);
  if (binds.length > limit) {
    problems.push({ option: 'bind', message: `${entries.length} shared directories in bind and bindReadOnly; a machine takes at most ${limit} (one PCI slot each)` });
  }
  return problems.length > 0 ? { problems } : { binds };
}

/**
 * Turns zod issues into one line per option, with "did you mean" hints for unknown keys. `knownNames`
 * are the names accepted where the issue is: one list, or a list per path (nested option objects).
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  knownNames: readonly string[] | ((path: readonly PropertyKey[]) => readonly string[]) = MACHINE_OPTION_NAMES,
): OptionProblem[] {
  return issues.flatMap((issue): OptionProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      const names = typeof knownNames === 'function' ? knownNames(issue.path) : knownNames;
      return issue.keys.map((key) => unknownOptionProblem(key, names, { parent: issue.path.join('.') }));
    }
    if (issue.code === 'invalid_key') {
      // A record key (a credential name) was rejected: its own issue says why.
      return [{ option: issue.path.map(String).join('.'), message: issue.issues.map((inner) => inner.message).join('; ') }];
    }
    return [{ option: issue.path.map(String).join('.'), message: issue.message }];
  });
}
