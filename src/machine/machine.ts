/**
 * The entry point of the engine: define a machine, start it, get a handle.
 *
 * ```ts
 * await using vm = await new Machine({ linux, initrd, ram: '1G' }).start();
 * const { stdout } = await vm.exec(['uname', '-r']);
 * ```
 */
import type { MachineOptions } from '../options/machine-options.js';
import { resolveMachineOptions, type ResolvedMachineOptions } from '../options/resolve-options.js';
import { bootMachine } from './boot.js';
import type { BootStage } from './boot-progress.js';
import type { StartedMachine } from './started-machine.js';

export interface StartOptions {
  /** Aborting it stops a boot in progress (the machine is killed and start() rejects). */
  signal?: AbortSignal;
  /**
   * Called at each stage of the boot (QEMU started, kernel, initrd/init, basic.target, READY=1, SSH),
   * once each, in order, with the time since QEMU started.
   */
  onBootStage?: (stage: BootStage) => void;
  /**
   * Register the machine with systemd-machined (`machinectl list` shows it), as
   * `systemd-vmspawn --register` does.
   * @default the environment variable VMSPAWN_REGISTER (yes, no or auto); auto registers as root where machined runs
   */
  register?: boolean;
}

export class Machine {
  /** The options with defaults applied. */
  readonly options: Readonly<ResolvedMachineOptions>;

  /** Validates the options; throws an InvalidOptionsError naming each wrong option. */
  constructor(options: MachineOptions) {
    this.options = resolveMachineOptions(options);
  }

  /**
   * Boots the machine and resolves once it is ready: `READY=1` received, and with SSH on,
   * ssh-access.target active and the first SSH handshake done. Each call starts a new machine.
   */
  start(options: StartOptions = {}): Promise<StartedMachine> {
    return bootMachine(this.options, options);
  }
}

/** Shorthand for `new Machine(options).start()`. */
export function startMachine(options: MachineOptions, startOptions?: StartOptions): Promise<StartedMachine> {
  return new Machine(options).start(startOptions);
}
