/**
 * Every flag of systemd-vmspawn, and what `run` does with it: the engine option it sets, or why
 * the engine cannot honour it (such a flag fails; none is silently ignored). A unit test checks
 * that this table covers every option of vmspawn's manual page.
 */
import type { MachineOptions } from '../options/machine-options.js';
import type { FlagSpec } from './flags.js';

/** One flag of `run`. */
export interface RunFlag extends FlagSpec {
  /** One line for `--help`. */
  help: string;
  /**
   * The engine option(s) it sets, `'cli'` for what `run` does itself (console, output, help), or
   * `{ unsupported }` with the reason the engine cannot honour it.
   */
  maps: readonly (keyof MachineOptions)[] | 'cli' | { unsupported: string };
  /** Not a flag of systemd-vmspawn: an addition of `run`. */
  extension?: boolean;
}

const SCOPE_UNIT = 'QEMU runs as a child of this command, not in a systemd scope unit of its own';

export const RUN_FLAGS: readonly RunFlag[] = [
  { name: 'help', short: 'h', takesValue: false, help: 'Show this help', maps: 'cli' },
  { name: 'version', takesValue: false, help: 'Show the version', maps: 'cli' },
  { name: 'quiet', short: 'q', takesValue: false, help: 'No status output of its own, only the console (with --console=read-only)', maps: 'cli' },
  { name: 'no-pager', takesValue: false, help: 'Accepted: run never pages', maps: 'cli' },
  { name: 'no-ask-password', takesValue: false, help: 'Accepted: run never asks for a password', maps: 'cli' },
  // Image
  { name: 'directory', short: 'D', takesValue: true, valueName: 'PATH', help: 'OS tree to boot as the root file system (virtiofs; needs root or a subordinate id range)', maps: ['directory'] },
  { name: 'image', short: 'i', takesValue: true, valueName: 'PATH', help: 'Disk image (raw or qcow2) to boot; never written (a throwaway overlay takes the writes)', maps: ['image'] },
  { name: 'image-format', takesValue: true, valueName: 'raw|qcow2', help: 'Format of --image (default: read from the file)', maps: ['imageFormat'] },
  { name: 'ephemeral', short: 'x', takesValue: false, help: 'Never write to --directory (the default here; an --image is never written either)', maps: ['ephemeral'] },
  // Host configuration
  { name: 'cpus', takesValue: true, valueName: 'CPUS', help: 'Virtual CPUs (default 1)', maps: ['cpus'] },
  { name: 'ram', takesValue: true, valueName: 'BYTES', help: 'Memory, K/M/G/T suffixes to the base 1024 (default 1G; vmspawn: 2G)', maps: ['ram'] },
  { name: 'kvm', takesValue: true, valueName: 'BOOL|auto', help: 'Use KVM: yes, no, or auto (a probe shows it works)', maps: ['kvm'] },
  { name: 'vsock', takesValue: true, valueName: 'BOOL|auto|kernel|user-space', help: 'vsock: yes (the kernel\'s, as vmspawn), user-space (vhost-device-vsock), no, or auto', maps: ['vsock'] },
  { name: 'vsock-cid', takesValue: true, valueName: 'CID', help: 'The guest\'s vsock CID, 3 to 4294967294 (default: derived from the name)', maps: ['vsockCid'] },
  { name: 'tpm', takesValue: true, valueName: 'BOOL|auto', help: 'Software TPM 2.0 (swtpm): yes, no, or auto (when installed)', maps: ['tpm'] },
  { name: 'tpm-state', takesValue: true, valueName: 'PATH|auto|off', help: 'Directory keeping the TPM state across machines; auto and off are transient', maps: ['tpmState'] },
  { name: 'linux', takesValue: true, valueName: 'PATH', help: 'Kernel (or unified kernel image) for direct kernel boot', maps: ['linux'] },
  { name: 'initrd', takesValue: true, valueName: 'PATH', help: 'Initrd for --linux; repeat to concatenate several', maps: ['initrd'] },
  { name: 'network-tap', short: 'n', takesValue: false, help: 'Network through the host tap device vt-MACHINE (needs root or a tap made for you)', maps: ['network'] },
  { name: 'network-user-mode', takesValue: false, help: 'Network through QEMU\'s user-mode stack', maps: ['network'] },
  { name: 'firmware', takesValue: true, valueName: 'PATH|list', help: 'UEFI firmware descriptor (absolute or ./relative); "list" lists those found', maps: ['firmware'] },
  { name: 'discard-disk', takesValue: true, valueName: 'BOOL', help: 'Pass the guest\'s discards on to the disk files (default yes)', maps: ['discardDisk'] },
  { name: 'secure-boot', takesValue: true, valueName: 'BOOL|auto', help: 'Look for UEFI firmware with (yes) or without (no) Secure Boot', maps: ['secureBoot'] },
  { name: 'grow-image', short: 'G', takesValue: true, valueName: 'BYTES', help: 'Grow the root disk (its overlay; the image never changes) to this size', maps: ['growImage'] },
  { name: 'smbios11', short: 's', takesValue: true, valueName: 'STRING', help: 'SMBIOS type 11 vendor string; repeatable, an empty one clears the list', maps: ['smbios11'] },
  { name: 'notify-ready', takesValue: true, valueName: 'BOOL', help: 'Wait for the guest\'s READY=1 before saying it is up (default yes)', maps: ['notifyReady'] },
  // System identity
  { name: 'machine', short: 'M', takesValue: true, valueName: 'NAME', help: 'Machine name and guest hostname (default vm)', maps: ['name'] },
  { name: 'uuid', takesValue: true, valueName: 'UUID', help: 'SMBIOS system UUID (an empty machine-id is initialised from it)', maps: ['uuid'] },
  // Properties
  { name: 'slice', short: 'S', takesValue: true, valueName: 'SLICE', help: 'Not supported', maps: { unsupported: SCOPE_UNIT } },
  { name: 'property', takesValue: true, valueName: 'NAME=VALUE', help: 'Not supported', maps: { unsupported: SCOPE_UNIT } },
  { name: 'keep-unit', takesValue: false, help: 'Not supported', maps: { unsupported: SCOPE_UNIT } },
  { name: 'register', takesValue: true, valueName: 'BOOL', help: 'Register with systemd-machined (default: as root where machined runs)', maps: 'cli' },
  // User namespacing, mounts
  {
    name: 'private-users', takesValue: true, valueName: 'UID_SHIFT[:UID_RANGE]', help: 'Not supported',
    maps: { unsupported: 'the engine picks virtiofsd\'s id mapping itself (none as root, your subordinate id range otherwise; see "Without root" in the README)' },
  },
  { name: 'bind', takesValue: true, valueName: 'SRC[:DST]', help: 'Share a host directory writable (virtiofs); repeatable, \\: for a colon', maps: ['bind'] },
  { name: 'bind-ro', takesValue: true, valueName: 'SRC[:DST]', help: 'Share a host directory read-only; repeatable', maps: ['bindReadOnly'] },
  { name: 'extra-drive', takesValue: true, valueName: 'PATH[:raw|qcow2]', help: 'A further disk, written through a throwaway overlay; repeatable', maps: ['extraDrives'] },
  { name: 'bind-user', takesValue: true, valueName: 'USER', help: 'Not supported', maps: { unsupported: 'the engine does not map host users into the guest (no userdb.transient credentials, no home directory share)' } },
  { name: 'bind-user-shell', takesValue: true, valueName: 'BOOL|PATH', help: 'Not supported', maps: { unsupported: 'it only modifies --bind-user, which the engine does not support' } },
  { name: 'bind-user-group', takesValue: true, valueName: 'GROUP', help: 'Not supported', maps: { unsupported: 'it only modifies --bind-user, which the engine does not support' } },
  // Integration
  { name: 'forward-journal', takesValue: true, valueName: 'FILE|DIR', help: 'Also write the guest\'s journal there when the machine ends (FILE.journal, or DIR/MACHINE.journal)', maps: ['forwardJournal'] },
  { name: 'pass-ssh-key', takesValue: true, valueName: 'BOOL', help: 'Give the guest an ephemeral SSH key and wait for SSH (default yes)', maps: ['ssh'] },
  { name: 'ssh-key-type', takesValue: true, valueName: 'TYPE', help: 'Only ed25519, the engine\'s key type', maps: 'cli' },
  // Input/output
  { name: 'console', takesValue: true, valueName: 'MODE', help: 'interactive, read-only or headless (default: interactive on a terminal, else headless); not native, not gui', maps: 'cli' },
  { name: 'background', takesValue: true, valueName: 'COLOR', help: 'Tint the terminal with this ANSI SGR background colour (41, 48;5;22, 48;2;R;G;B) while it shows the console; empty for none (default: a green tint of the terminal\'s own)', maps: 'cli' },
  { name: 'qemu-gui', takesValue: false, help: 'Not supported', maps: { unsupported: 'machines run without a display (-display none); use --console=interactive' } },
  // Credentials
  { name: 'set-credential', takesValue: true, valueName: 'ID:VALUE', help: 'Pass a credential; C-style escapes (\\n, \\x00, \\\\, …) in VALUE; repeatable', maps: ['setCredential'] },
  { name: 'load-credential', takesValue: true, valueName: 'ID:PATH', help: 'Pass a credential read from a file (PATH without a slash: $CREDENTIALS_DIRECTORY/PATH); repeatable', maps: ['loadCredential'] },
  // Additions
  { name: 'artifacts-dir', takesValue: true, valueName: 'DIR', help: 'Where console, journal and summary go (default: a new directory, printed at the end)', maps: ['artifactsDir'], extension: true },
  { name: 'boot-timeout', takesValue: true, valueName: 'SECONDS', help: 'How long the boot may take (default 120)', maps: ['bootTimeout'], extension: true },
];

/** The flag that sets an engine option, for error messages (`setCredential.x` → `--set-credential`). */
export function flagOfOption(option: string): string | undefined {
  const key = option.split(/[.[]/)[0];
  if (key === 'consoleSocket') return '--console=interactive';
  const flag = RUN_FLAGS.find((candidate) => Array.isArray(candidate.maps) && candidate.maps.includes(key as keyof MachineOptions));
  return flag && `--${flag.name}`;
}
