/**
 * Host directories shared with the guest over virtiofs, as systemd-vmspawn shares them: one
 * virtiofsd per directory, each a `vhost-user-fs-pci` device with its own tag.
 *
 * - `directory` is the guest's root (tag `root`; kernel command line `root=root rootfstype=virtiofs rw`).
 *   Ephemeral (the default), virtiofsd shares an overlay whose lower layer is the user's tree, bound
 *   read-only, and whose upper layer lies in the machine's runtime directory, deleted with it. The
 *   overlay is mounted in a private mount namespace (`unshare --mount`) that only virtiofsd lives in:
 *   the host never sees it, and it disappears with the daemon, however that ends.
 * - `bind`/`bindReadOnly` entries get tags `bind0`, `bind1`, … and are mounted in the guest through
 *   the `fstab.extra` credential (systemd ≥ 254), merged with the user's own lines. A read-only one is
 *   shared from a read-only bind mount in virtiofsd's private namespace, so the host refuses writes
 *   even after `mount -o remount,rw` in the guest.
 * - Without root, every virtiofsd runs as root of a user namespace that maps the caller to root and
 *   the caller's subordinate ids from 1 up (as rootless podman and an unprivileged mkosi build do), in a
 *   private mount namespace with its own /run/virtiofsd.
 *
 * Pure: the daemons' argument vectors, QEMU's devices and the directories to create.
 */
import { join } from 'node:path';
import { VmspawnError } from '../errors.js';
import type { BindMount } from '../options/bind-spec.js';
import type { PlannedCredential } from './credentials.js';
import type { PlannedHelper } from './helper-plan.js';
import { virtiofsdLogFile, type MachineLayout } from './machine-layout.js';
import { VIRTIOFS_SLOTS, virtiofsPciAddress } from './pci-slots.js';
import { escapeOptionValue } from './qemu-syntax.js';

/** QEMU's C virtiofsd (`-o source=`) or the Rust one (`--shared-dir`). */
export type VirtiofsdDialect = 'legacy' | 'rust';

export interface VirtiofsdBinary {
  path: string;
  dialect: VirtiofsdDialect;
}

/** How a share reaches virtiofsd: as it is, through a throwaway overlay, or through a read-only bind mount. */
export type ShareMode = 'read-write' | 'overlay' | 'read-only';

export interface PlannedShare {
  tag: string;
  /** The host directory the user named. */
  source: string;
  /** Where the guest mounts it. */
  guestPath: string;
  mode: ShareMode;
  /** The vhost-user socket virtiofsd creates and QEMU connects to. */
  socket: string;
  /** For 'overlay' and 'read-only': the private directory holding the mount points (and overlay layers). */
  stateDir: string | undefined;
}

export interface VirtiofsPlan {
  shares: PlannedShare[];
  helpers: PlannedHelper[];
  qemuArgs: string[];
  /** Appended to the kernel command line when the root is shared. */
  kernelArgs: string[];
  /** One fstab line per bind; they travel in the `fstab.extra` credential. */
  fstabLines: string[];
  /** Directories to create (0700) before the daemons start. */
  directories: string[];
  /** What is shared how, for the machine log. */
  description: string[];
}

export interface VirtiofsPlanInput {
  directory: string | undefined;
  ephemeral: boolean;
  binds: readonly BindMount[];
  layout: MachineLayout;
  virtiofsd: VirtiofsdBinary | undefined;
  /** `unshare` (util-linux), needed for overlay and read-only shares, and for every share without root. */
  unshare: string | undefined;
  /**
   * Run each virtiofsd as root of a user namespace (the caller is root in it, ids from 1 up map to
   * the caller's subordinate ids), as a caller without root must: both virtiofsd sandbox themselves
   * with namespaces and mounts, and the overlay and read-only mounts need them too.
   * @default false
   */
  userNamespace?: boolean;
}

export const ROOT_TAG = 'root';
export const FSTAB_CREDENTIAL = 'fstab.extra';
/** Most shares one machine can have: the PCI slots set aside for them. */
export const MAX_SHARES = VIRTIOFS_SLOTS;

/**
 * Run in virtiofsd's private mount namespace before it starts: `$1` mode, `$2` the user's directory,
 * `$3` the share's state directory; then `exec "$@"` (virtiofsd). Only paths inside the runtime
 * directory appear in the overlay's option string, which cannot hold commas or colons.
 */
export const NAMESPACE_SETUP_SCRIPT = [
  'set -eu',
  'mode=$1 source=$2 state=$3',
  'shift 3',
  'case $mode in',
  'overlay)',
  '  mount --bind "$source" "$state/lower"',
  '  mount -o remount,bind,ro "$state/lower"',
  // The overlay's root directory takes its owner and mode from the upper layer. In a user namespace
  // an owner outside its id map cannot be given: the directory then stays the caller's.
  '  chown --reference="$source" "$state/upper" 2>/dev/null || :',
  '  chmod --reference="$source" "$state/upper"',
  '  mount -t overlay -o "lowerdir=$state/lower,upperdir=$state/upper,workdir=$state/work" vitest-vmspawn "$state/shared"',
  '  ;;',
  'read-only)',
  '  mount --bind "$source" "$state/shared"',
  '  mount -o remount,bind,ro "$state/shared"',
  '  ;;',
  'esac',
  'exec "$@"',
].join('\n');

/**
 * Run last in a user namespace, before virtiofsd: QEMU's C virtiofsd keeps a lock file in
 * /run/virtiofsd, which only root may create or write. A private tmpfs takes its place; when the
 * directory is missing, a tmpfs over all of /run, with the machine's runtime directory (`$1`, kept
 * open as the working directory) bound back at its path. Then `exec "$@"` (virtiofsd).
 */
export const PRIVATE_RUN_SCRIPT = [
  'set -eu',
  'runtime=$1',
  'shift',
  'cd "$runtime"',
  'if [ -d /run/virtiofsd ]; then',
  '  mount -t tmpfs -o mode=0700 vitest-vmspawn /run/virtiofsd',
  'else',
  '  mount -t tmpfs -o mode=0755 vitest-vmspawn /run',
  '  mkdir /run/virtiofsd',
  // --no-canonicalize: "." is the runtime directory under the old /run, not the path in the new one.
  '  case $runtime in /run/*) mkdir -p "$runtime"; mount --no-canonicalize --rbind . "$runtime" ;; esac',
  'fi',
  'cd /',
  'exec "$@"',
].join('\n');

/** The unshare options that make the caller root of a user namespace with its subordinate ids mapped. */
export const USER_NAMESPACE_ARGS = ['--user', '--map-root-user', '--map-auto'] as const;

export function planVirtiofs(input: VirtiofsPlanInput): VirtiofsPlan {
  const { layout } = input;
  const requested: Array<Omit<PlannedShare, 'socket' | 'stateDir'>> = [
    ...(input.directory === undefined ? [] : [{ tag: ROOT_TAG, source: input.directory, guestPath: '/', mode: input.ephemeral ? ('overlay' as const) : ('read-write' as const) }]),
    ...input.binds.map((bind, index) => ({ tag: `bind${index}`, source: bind.source, guestPath: bind.target, mode: bind.readOnly ? ('read-only' as const) : ('read-write' as const) })),
  ];
  const empty: VirtiofsPlan = { shares: [], helpers: [], qemuArgs: [], kernelArgs: [], fstabLines: [], directories: [], description: [] };
  if (requested.length === 0) return empty;
  if (!input.virtiofsd) throw new Error('planVirtiofs: shares need virtiofsd');
  if (requested.length > MAX_SHARES) throw new Error(`planVirtiofs: at most ${MAX_SHARES} shares`);

  const shares = requested.map((share): PlannedShare => ({
    ...share,
    socket: join(layout.runtimeDir, `virtiofs-${share.tag}.sock`),
    stateDir: share.mode === 'read-write' ? undefined : join(layout.runtimeDir, `virtiofs-${share.tag}`),
  }));
  const plan = { ...empty, shares };
  for (const [index, share] of shares.entries()) {
    plan.helpers.push(helperFor(share, input.virtiofsd, input.unshare, layout, input.userNamespace ?? false));
    plan.directories.push(...stateDirectories(share));
    const chardev = `virtiofs-${share.tag}`;
    plan.qemuArgs.push(
      '-chardev', `socket,id=${chardev},path=${escapeOptionValue(share.socket)}`,
      '-device', `vhost-user-fs-pci,queue-size=1024,chardev=${chardev},tag=${share.tag},${virtiofsPciAddress(index)}`,
    );
    if (share.tag === ROOT_TAG) plan.kernelArgs.push(`root=${ROOT_TAG}`, 'rootfstype=virtiofs', 'rw');
    else plan.fstabLines.push(fstabLine(share));
    plan.description.push(describeShare(share));
  }
  return plan;
}

/** The daemon of one share: virtiofsd itself, or `unshare` running the setup script that execs it. */
function helperFor(share: PlannedShare, virtiofsd: VirtiofsdBinary, unshare: string | undefined, layout: MachineLayout, userNamespace: boolean): PlannedHelper {
  const sharedDir = share.stateDir ? join(share.stateDir, 'shared') : share.source;
  // The overlay changes only through virtiofsd, so the guest may cache it for good: READY came after
  // 33 s instead of 52–63 s with the default ('auto', which revalidates after a second) under TCG.
  const cache = share.mode === 'overlay' ? 'always' : 'auto';
  const daemon = [virtiofsd.path, ...virtiofsdArguments(virtiofsd.dialect, share.socket, sharedDir, cache)];
  const common = { name: `virtiofsd-${share.tag}`, logFile: virtiofsdLogFile(layout, share.tag), readyPath: share.socket };
  if (!share.stateDir && !userNamespace) return { ...common, binary: daemon[0]!, args: daemon.slice(1) };
  if (!unshare) throw new Error('planVirtiofs: overlay and read-only shares, and shares without root, need unshare');
  if (share.mode === 'overlay' && share.stateDir && /[,:\\\s]/.test(share.stateDir)) {
    throw new VmspawnError(
      `The runtime directory ${share.stateDir} has a comma, colon, backslash or white space, which an overlay's options cannot hold; ` +
        'set XDG_RUNTIME_DIR (or TMPDIR) to a plainer path.',
    );
  }
  const run = userNamespace ? ['/bin/sh', '-c', PRIVATE_RUN_SCRIPT, 'vitest-vmspawn-virtiofs-run', layout.runtimeDir, ...daemon] : daemon;
  return {
    ...common,
    binary: unshare,
    args: [
      ...(userNamespace ? USER_NAMESPACE_ARGS : []), '--mount', '--propagation', 'private', '--',
      '/bin/sh', '-c', NAMESPACE_SETUP_SCRIPT, 'vitest-vmspawn-virtiofs', share.mode, share.source, share.stateDir ?? '-', ...run,
    ],
  };
}

/**
 * virtiofsd's arguments in either dialect, with what systemd-vmspawn passes: extended attributes on,
 * submounts not announced (QEMU cannot handle them). Caching is virtiofsd's default ('auto': the guest
 * revalidates after a second, so it sees the host's changes) unless 'always' is asked for.
 */
export function virtiofsdArguments(dialect: VirtiofsdDialect, socket: string, sharedDir: string, cache: 'auto' | 'always' = 'auto'): string[] {
  switch (dialect) {
    case 'rust':
      return ['--socket-path', socket, '--shared-dir', sharedDir, '--xattr', '--no-announce-submounts', ...(cache === 'auto' ? [] : ['--cache', cache])];
    case 'legacy':
      // FUSE's -o list separates options with commas; a backslash escapes one in a value.
      return [`--socket-path=${socket}`, '-o', `source=${sharedDir.replace(/[\\,]/g, '\\$&')}`, '-o', 'xattr', ...(cache === 'auto' ? [] : ['-o', `cache=${cache}`])];
  }
}

function stateDirectories(share: PlannedShare): string[] {
  if (!share.stateDir) return [];
  const names = share.mode === 'overlay' ? ['lower', 'upper', 'work', 'shared'] : ['shared'];
  return [share.stateDir, ...names.map((name) => join(share.stateDir!, name))];
}

/** An fstab(5) line; white space and backslashes in paths are written as octal escapes. */
export function fstabLine(share: Pick<PlannedShare, 'tag' | 'guestPath' | 'mode'>): string {
  const escape = (text: string) => text.replace(/[\s\\]/g, (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return `${share.tag} ${escape(share.guestPath)} virtiofs ${share.mode === 'read-only' ? 'ro' : 'rw'} 0 0`;
}

/** The credentials with the binds' fstab lines added to the user's `fstab.extra`, or as a new one. */
export function withFstabLines(credentials: readonly PlannedCredential[], lines: readonly string[]): PlannedCredential[] {
  if (lines.length === 0) return [...credentials];
  const ours = lines.join('\n');
  const index = credentials.findIndex((credential) => credential.name === FSTAB_CREDENTIAL);
  const existing = credentials[index];
  if (!existing) return [...credentials, { name: FSTAB_CREDENTIAL, value: new TextEncoder().encode(`${ours}\n`) }];
  if (!('value' in existing)) throw new Error('planVirtiofs: a loadCredential fstab.extra cannot be merged');
  const theirs = new TextDecoder().decode(existing.value).trimEnd();
  const merged = { name: FSTAB_CREDENTIAL, value: new TextEncoder().encode(`${theirs ? `${theirs}\n` : ''}${ours}\n`) };
  return credentials.map((credential, at) => (at === index ? merged : credential));
}

function describeShare(share: PlannedShare): string {
  const how = {
    overlay: 'ephemeral: writes go to an overlay in the runtime directory, the tree is not written',
    'read-only': 'read-only, enforced on the host',
    'read-write': share.tag === ROOT_TAG ? 'writable: the guest writes to the tree (ephemeral: false)' : 'writable',
  }[share.mode];
  return `virtiofs ${share.tag}: ${share.source} → guest ${share.guestPath} (${how})`;
}
