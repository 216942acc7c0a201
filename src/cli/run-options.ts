/**
 * `run`'s command line → the engine's MachineOptions and what `run` does itself (console, output).
 * Pure: no file is read, nothing is started; every error is a UsageError naming the flag.
 */
import { isAbsolute, resolve } from 'node:path';
import type { ExtraDrive, MachineOptions } from '../options/machine-options.js';
import { parseBackgroundColor } from './console-decorator.js';
import { parseSetCredential, parseLoadCredential } from './credential-flags.js';
import { parseBooleanValue, parseIntegerValue, parseTristateValue } from './flag-values.js';
import { parseCommandLine, type FlagOccurrence } from './flags.js';
import { RUN_FLAGS } from './run-flags.js';
import { UsageError } from './usage-error.js';

/** How the guest's serial console reaches the user. */
export type ConsoleMode = 'interactive' | 'read-only' | 'headless';
const CONSOLE_MODES: readonly ConsoleMode[] = ['interactive', 'read-only', 'headless'];

export type RunRequest =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'list-firmware' }
  | {
      action: 'boot';
      /** The engine options from the flags; without a kernel, image or directory, boot the default image. */
      options: MachineOptions;
      /** No --linux, --image or --directory: boot the project's default image. */
      defaultImage: boolean;
      console: ConsoleMode;
      quiet: boolean;
      /** `--forward-journal=PATH`, resolved. */
      journalPath: string | undefined;
      /** `--register`: register with systemd-machined (true), never (false), or as VMSPAWN_REGISTER says (undefined). */
      register: boolean | undefined;
      /** `--background`: the console's SGR background colour, '' for none, undefined for the default tint. */
      background: string | undefined;
    };

export interface RunContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stdin and stdout are terminals (the default console is interactive then). */
  interactiveTerminal: boolean;
}

/** Parses `run`'s arguments; throws a UsageError naming the flag. */
export function parseRunArguments(argv: readonly string[], context: RunContext): RunRequest {
  const { flags, positionals } = parseCommandLine(argv, RUN_FLAGS);
  if (flags.some((flag) => flag.name === 'help')) return { action: 'help' };
  if (flags.some((flag) => flag.name === 'version')) return { action: 'version' };
  const options: MachineOptions = {};
  const state = { background: undefined as string | undefined, console: undefined as ConsoleMode | undefined, quiet: false, journalPath: undefined as string | undefined, listFirmware: false, tap: false, register: undefined as boolean | undefined };
  const path = (value: string) => (isAbsolute(value) ? value : resolve(context.cwd, value));
  const credentialIds = new Set<string>();
  const addCredential = (flag: FlagOccurrence, id: string) => {
    if (credentialIds.has(id)) throw new UsageError(`${flag.spelled}: duplicate credential "${id}" (each ID may be given once, by --set-credential or --load-credential).`);
    credentialIds.add(id);
  };

  for (const flag of flags) {
    const spec = RUN_FLAGS.find((candidate) => candidate.name === flag.name);
    if (spec && typeof spec.maps === 'object' && 'unsupported' in spec.maps) {
      throw new UsageError(`${flag.spelled} is not supported: ${spec.maps.unsupported}.`);
    }
    const value = flag.value ?? '';
    const named = `--${flag.name}`;
    switch (flag.name) {
      case 'quiet': state.quiet = true; break;
      case 'no-pager': case 'no-ask-password': break;
      case 'directory': options.directory = path(value); break;
      case 'image': options.image = path(value); break;
      case 'image-format':
        if (value !== 'raw' && value !== 'qcow2') throw new UsageError(`${named}=${value}: expected raw or qcow2.`);
        options.imageFormat = value;
        break;
      case 'ephemeral': options.ephemeral = true; break;
      case 'cpus': options.cpus = parseIntegerValue(named, value, 'a number of CPUs (1 or more)'); break;
      case 'ram': options.ram = value; break;
      case 'kvm': options.kvm = parseTristateValue(named, value); break;
      case 'vsock': options.vsock = parseVsock(named, value); break;
      case 'vsock-cid':
        if (value === '') delete options.vsockCid;
        else options.vsockCid = parseIntegerValue(named, value, 'a CID from 3 to 4294967294');
        break;
      case 'tpm': options.tpm = parseTristateValue(named, value); break;
      case 'tpm-state': options.tpmState = value === 'auto' || value === 'off' ? value : path(value); break;
      case 'linux': options.linux = path(value); break;
      case 'initrd': options.initrd = [...asList(options.initrd), path(value)]; break;
      case 'network-tap': state.tap = true; delete options.network; break; // named once the machine name is known, below
      case 'network-user-mode': state.tap = false; options.network = 'user'; break;
      case 'firmware':
        if (value === 'list') state.listFirmware = true;
        else if (value === '') delete options.firmware;
        else if (!isAbsolute(value) && !value.startsWith('./')) throw new UsageError(`${named}=${value}: expected an absolute path, a path starting with ./, or list.`);
        else options.firmware = path(value);
        break;
      case 'discard-disk': options.discardDisk = parseBooleanValue(named, value); break;
      case 'secure-boot': options.secureBoot = parseTristateValue(named, value); break;
      case 'grow-image': options.growImage = value; break;
      case 'smbios11': options.smbios11 = value === '' ? [] : [...(options.smbios11 ?? []), value]; break;
      case 'notify-ready': options.notifyReady = parseBooleanValue(named, value); break;
      case 'machine': if (value === '') delete options.name; else options.name = value; break;
      case 'uuid': options.uuid = value; break;
      case 'register': state.register = parseBooleanValue(named, value); break;
      case 'bind': options.bind = [...(options.bind ?? []), value]; break;
      case 'bind-ro': options.bindReadOnly = [...(options.bindReadOnly ?? []), value]; break;
      case 'extra-drive': options.extraDrives = [...(options.extraDrives ?? []), parseExtraDrive(value, path)]; break;
      case 'forward-journal':
        if (value === '') throw new UsageError(`${named} needs a FILE.journal or a DIR.`);
        state.journalPath = path(value);
        options.forwardJournal = true;
        break;
      case 'pass-ssh-key': options.ssh = parseBooleanValue(named, value); break;
      case 'ssh-key-type':
        if (value !== 'ed25519') throw new UsageError(`${named}=${value} is not supported: the engine's SSH keys are ed25519; use --ssh-key-type=ed25519 or leave it out.`);
        break;
      case 'console':
        if (value === 'gui') throw new UsageError(`${named}=gui is not supported: machines run without a display (-display none); use interactive, read-only or headless.`);
        if (value === 'native') {
          throw new UsageError(
            `${named}=native is not supported: it gives QEMU's own monitor on the console, whose commands (quit, system_reset, …) would bypass the engine, which drives QEMU through QMP; use interactive.`,
          );
        }
        if (!CONSOLE_MODES.includes(value as ConsoleMode)) throw new UsageError(`${named}=${value}: expected one of ${CONSOLE_MODES.join(', ')}.`);
        state.console = value as ConsoleMode;
        break;
      case 'background': state.background = parseBackgroundColor(named, value); break;
      case 'set-credential': {
        const { id, value: credential } = parseSetCredential(value);
        addCredential(flag, id);
        options.setCredential = { ...options.setCredential, [id]: credential };
        break;
      }
      case 'load-credential': {
        const { id, path: file } = parseLoadCredential(value, context.env, context.cwd);
        addCredential(flag, id);
        options.loadCredential = { ...options.loadCredential, [id]: file };
        break;
      }
      case 'artifacts-dir': options.artifactsDir = path(value); break;
      case 'boot-timeout': options.bootTimeout = parseIntegerValue(named, value, 'a number of seconds') * 1000; break;
      default:
        throw new Error(`run has no handling for --${flag.name}; this is a bug.`);
    }
  }
  if (state.listFirmware) return { action: 'list-firmware' };
  if (options.initrd !== undefined && options.linux === undefined) throw new UsageError('--initrd needs --linux: the initrd is loaded with the kernel that --linux names.');
  if (state.tap) options.network = { tap: tapName(options.name ?? 'vm') };
  if (positionals.length > 0) options.kernelArgs = [...positionals];
  return {
    action: 'boot',
    options,
    defaultImage: !options.linux && !options.image && !options.directory,
    console: state.console ?? (context.interactiveTerminal ? 'interactive' : 'headless'),
    quiet: state.quiet,
    journalPath: state.journalPath,
    register: state.register,
    background: state.background,
  };
}

function parseVsock(flag: string, value: string): MachineOptions['vsock'] {
  if (value === 'kernel' || value === 'user-space') return value;
  const setting = parseTristateValue(flag, value);
  // vmspawn's vsock is the kernel's (vhost-vsock-pci).
  return setting === true ? 'kernel' : setting;
}

/** vmspawn's `PATH[:FORMAT]`: a last colon followed by a known format names the format, else it is part of the path. */
function parseExtraDrive(value: string, path: (value: string) => string): ExtraDrive {
  const colon = value.lastIndexOf(':');
  const format = colon === -1 ? undefined : value.slice(colon + 1);
  if (format === 'raw' || format === 'qcow2') return { path: path(value.slice(0, colon)), format };
  if (value === '') throw new UsageError('--extra-drive needs a PATH[:raw|qcow2].');
  return path(value);
}

/** The tap device of `--network-tap`: `vt-` and the machine name, cut to the 15 bytes of an interface name. */
export function tapName(machine: string): string {
  return `vt-${machine}`.slice(0, 15);
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
