/**
 * Networking in the plan: the QEMU network backend and NIC, and the credentials that configure the
 * NIC in the guest with nothing in the image but systemd-networkd (part of systemd):
 *
 * - `network.network.50-vitest-vmspawn` becomes `/run/systemd/network/50-vitest-vmspawn.network`,
 *   written by systemd-network-generator.service (systemd ≥ 256 reads `network.*` credentials); it
 *   matches the NIC by its MAC address, so other NICs (e.g. from `qemuArgs`) are left alone;
 * - `systemd.unit-dropin.multi-user.target~vitest-vmspawn-network` becomes a drop-in of
 *   multi-user.target (systemd-debug-generator) that pulls in the generator and systemd-networkd,
 *   which images such as Debian's ship disabled. With user-mode networking it also pulls in
 *   systemd-networkd-wait-online, so the boot, and READY=1, complete with the address configured.
 */
import { createHash } from 'node:crypto';
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import type { NetworkSetting } from '../options/machine-options.js';
import { pciAddress } from './pci-slots.js';
import { escapeOptionValue } from './qemu-syntax.js';

/** QEMU user-mode networking's fixed addresses (its defaults). */
export const USER_NETWORK = { guest: '10.0.2.15', prefixLength: 24, host: '10.0.2.2', dns: '10.0.2.3' } as const;

export const NETWORK_CONFIG_CREDENTIAL = 'network.network.50-vitest-vmspawn';
export const NETWORK_DROPIN_CREDENTIAL = 'systemd.unit-dropin.multi-user.target~vitest-vmspawn-network';

export interface NetworkPlan {
  qemuArgs: string[];
  /** Credentials (name → value) that configure the guest's NIC. */
  credentials: Record<string, string>;
  /** The MAC address of the guest's NIC. */
  mac: string | undefined;
}

export function planNetwork(options: Pick<ResolvedMachineOptions, 'network' | 'portForwards' | 'uuid' | 'name'>): NetworkPlan {
  const { network } = options;
  if (network === 'none') return { qemuArgs: [], credentials: {}, mac: undefined };
  const mac = macAddress(options.uuid ?? options.name);
  const backend =
    network === 'user'
      ? ['user', 'id=net0', ...options.portForwards.map((forward) => `hostfwd=tcp:127.0.0.1:${forward.host}-:${forward.guest}`)]
      : ['tap', 'id=net0', `ifname=${escapeOptionValue(network.tap)}`, 'script=no', 'downscript=no'];
  return {
    qemuArgs: ['-netdev', backend.join(','), '-device', `virtio-net-pci,netdev=net0,mac=${mac},${pciAddress('network')}`],
    credentials: {
      [NETWORK_CONFIG_CREDENTIAL]: guestNetworkConfig(network, mac),
      [NETWORK_DROPIN_CREDENTIAL]: networkdDropIn(network),
    },
    mac,
  };
}

/**
 * A locally administered MAC in QEMU's 52:54:00 range, derived from the machine's UUID: stable for a
 * machine, different between machines that share a tap bridge.
 */
export function macAddress(seed: string): string {
  const bytes = createHash('sha256').update(seed).digest().subarray(0, 3);
  return ['52', '54', '00', ...[...bytes].map((byte) => byte.toString(16).padStart(2, '0'))].join(':');
}

/** User mode: QEMU's fixed addresses, set statically (no DHCP round trips under TCG). A tap: DHCP from the host side. */
export function guestNetworkConfig(network: Exclude<NetworkSetting, 'none'>, mac: string): string {
  const match = `[Match]\nMACAddress=${mac}\n\n[Network]\n`;
  if (network === 'user') {
    return (
      match +
      `Address=${USER_NETWORK.guest}/${USER_NETWORK.prefixLength}\nGateway=${USER_NETWORK.host}\nDNS=${USER_NETWORK.dns}\n` +
      'LinkLocalAddressing=no\nIPv6AcceptRA=no\n'
    );
  }
  return `${match}DHCP=yes\n`;
}

/**
 * A tap's host side may serve no DHCP: waiting for an address there could hold the boot for
 * wait-online's two minutes, so only user mode, whose address is static, waits for it.
 */
export function networkdDropIn(network: Exclude<NetworkSetting, 'none'>): string {
  const units = ['systemd-network-generator.service', 'systemd-networkd.service'];
  if (network === 'user') units.push('systemd-networkd-wait-online.service');
  return `[Unit]\nWants=${units.join(' ')}\n`;
}
