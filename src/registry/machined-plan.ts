/**
 * Registration with systemd-machined, as `systemd-vmspawn --register` does, so that `machinectl
 * list` shows the machines: whether to register (the environment variable VMSPAWN_REGISTER, `auto`
 * by default: yes as root on a host where machined runs, as vmspawn's default is yes for root) and
 * the argument vectors of the calls. Pure; machined-register.ts runs them.
 *
 * machined's Varlink method io.systemd.Machine.Register takes what the D-Bus method lacks (vsock
 * CID, SSH address and key), so `varlinkctl` is used where machined's Varlink socket exists and
 * `busctl call … RegisterMachine` (name, UUID, service, class vm, leader PID) otherwise.
 */

/** The environment variable: `yes`, `no` or `auto`. */
export const REGISTER_ENV = 'VMSPAWN_REGISTER';
/** Exists when systemd is the init system (sd_booted()). */
export const SYSTEMD_BOOTED_DIR = '/run/systemd/system';
/** The system bus, over which busctl reaches machined (and D-Bus activation starts it). */
export const SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket';
/** machined's Varlink socket (systemd >= 256). */
export const MACHINED_VARLINK = '/run/systemd/machine/io.systemd.Machine';
const SERVICE = 'vitest-vmspawn';
const BUS = ['org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager'] as const;

export interface RegistrationHost {
  /** The caller's choice (StartOptions.register, run's --register); it overrides the variable. */
  setting?: boolean | undefined;
  env: NodeJS.ProcessEnv;
  /** The effective user id (0: root). */
  uid: number | undefined;
  /** Whether machined can be reached: systemd is the init system and machined's Varlink socket or the system bus exists. */
  machinedRuns: boolean;
}

export type RegistrationDecision = { register: true; reason: string } | { register: false; reason: string };

/** Whether to register, and why (the reason is logged either way). */
export function decideRegistration(host: RegistrationHost): RegistrationDecision {
  if (host.setting !== undefined) return { register: host.setting, reason: `register: ${host.setting}` };
  const value = (host.env[REGISTER_ENV] ?? 'auto').trim().toLowerCase();
  if (['no', 'false', '0', 'off'].includes(value)) return { register: false, reason: `${REGISTER_ENV}=${value}` };
  const forced = ['yes', 'true', '1', 'on'].includes(value);
  if (!forced && !['auto', ''].includes(value)) {
    return { register: false, reason: `${REGISTER_ENV}=${value} is not one of yes, no, auto; not registering` };
  }
  if (forced) return { register: true, reason: `${REGISTER_ENV}=${value}` };
  if (host.uid !== 0) return { register: false, reason: 'not root (machined takes registrations from root only; as vmspawn, registering is on by default for root)' };
  if (!host.machinedRuns) return { register: false, reason: `systemd-machined does not run here (systemd is not the init system, or neither ${MACHINED_VARLINK} nor the system bus exists)` };
  return { register: true, reason: 'root on a host where systemd-machined runs' };
}

export interface MachinedMachine {
  name: string;
  uuid: string;
  /** QEMU's PID. */
  leaderPid: number;
  /** The guest's CID, under kernel vsock only (user-space vsock CIDs are not reachable by the host's kernel). */
  kernelVsockCid?: number | undefined;
  /** Without vsock: the TCP address of the guest's sshd. */
  tcp?: { host: string; port: number } | undefined;
  /** The client key that logs in as root. */
  sshPrivateKeyPath?: string | undefined;
}

/** `busctl call … RegisterMachine sayssus NAME 16 B… SERVICE vm LEADER ""`. */
export function busctlRegisterArgs(machine: MachinedMachine): string[] {
  const bytes = uuidBytes(machine.uuid);
  return ['call', ...BUS, 'RegisterMachine', 'sayssus', machine.name, String(bytes.length), ...bytes.map(String), SERVICE, 'vm', String(machine.leaderPid), ''];
}

/** `busctl call … UnregisterMachine s NAME`. */
export function busctlUnregisterArgs(name: string): string[] {
  return ['call', ...BUS, 'UnregisterMachine', 's', name];
}

/** `varlinkctl call <socket> io.systemd.Machine.Register '{…}'`, with vsock CID and SSH address. */
export function varlinkctlRegisterArgs(machine: MachinedMachine): string[] {
  const sshAddress =
    machine.kernelVsockCid !== undefined ? `vsock/${machine.kernelVsockCid}` : machine.tcp ? `${machine.tcp.host}:${machine.tcp.port}` : undefined;
  const parameters = {
    name: machine.name,
    id: uuidBytes(machine.uuid).map((byte) => byte.toString(16).padStart(2, '0')).join(''),
    service: SERVICE,
    class: 'vm',
    leader: machine.leaderPid,
    ...(machine.kernelVsockCid !== undefined && { vSockCid: machine.kernelVsockCid }),
    ...(sshAddress && { sshAddress }),
    ...(sshAddress && machine.sshPrivateKeyPath && { sshPrivateKeyPath: machine.sshPrivateKeyPath }),
  };
  return ['call', MACHINED_VARLINK, 'io.systemd.Machine.Register', JSON.stringify(parameters)];
}

/** The 16 bytes of a UUID (`8-4-4-4-12` hex); throws on anything else. */
export function uuidBytes(uuid: string): number[] {
  const hex = uuid.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`"${uuid}" is not a UUID (32 hex digits, as 8-4-4-4-12)`);
  return Array.from({ length: 16 }, (_, index) => Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16));
}
