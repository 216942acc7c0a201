/**
 * The control network of a machine without vsock: a second NIC on its own QEMU user-mode network
 * that carries only the engine's SSH. `restrict=on` isolates it (the guest reaches nothing through
 * it, not the host, not the outside); `hostfwd` opens guest port 22 on a host port of 127.0.0.1,
 * port 0 so that the kernel picks a free one when QEMU binds it (read back through `info usernet`,
 * as for `portForwards`). Its subnet differs from the one of `network: 'user'` (10.0.2.0/24), so both
 * can be attached at once. In the guest, with nothing but systemd:
 *
 * - `network.network.40-vitest-vmspawn-control` configures the NIC statically (no DHCP round trips),
 *   matched by its MAC address, without a gateway so it never becomes the default route;
 * - a drop-in of multi-user.target pulls in systemd-network-generator and systemd-networkd;
 * - `ssh.listen` makes systemd-ssh-generator (systemd ≥ 256) bind socket-activated sshd to TCP port 22;
 * - `systemd.ssh_auto=no` on the kernel command line keeps the generator from binding AF_VSOCK: in a
 *   guest whose vsock module is loaded without a device, it fails its boot with an error otherwise
 *   ("Failed to query local AF_VSOCK CID"). `ssh.listen` is honoured either way.
 */
import { macAddress } from './network-plan.js';
import { pciAddress } from './pci-slots.js';

/** The control network's addresses: a private /24 that QEMU's defaults and `network: 'user'` do not use. */
export const CONTROL_NETWORK = { net: '10.0.103.0', prefixLength: 24, host: '10.0.103.2', guest: '10.0.103.15' } as const;

/** The netdev id, also the name `info usernet` lists its forwards under. */
export const CONTROL_NETDEV_ID = 'vmspawnctl';
export const CONTROL_GUEST_SSH_PORT = 22;
/** A guest port where nothing listens (tcpmux, long unused), so that the guest's kernel resets a connection to it. */
export const CONTROL_GUEST_PROBE_PORT = 1;

export const CONTROL_NETWORK_CREDENTIAL = 'network.network.40-vitest-vmspawn-control';
export const CONTROL_DROPIN_CREDENTIAL = 'systemd.unit-dropin.multi-user.target~vitest-vmspawn-control';
export const SSH_LISTEN_CREDENTIAL = 'ssh.listen';

export interface ControlNetworkPlan {
  qemuArgs: string[];
  /** Credentials (name → value) that configure the control NIC and sshd on TCP. */
  credentials: Record<string, string>;
  mac: string;
  /** The guest port the host forward reaches. */
  guestPort: number;
  /** Engine kernel arguments, before the user's. */
  kernelArgs: string[];
}

export function planControlNetwork(options: { uuid?: string | undefined; name: string }): ControlNetworkPlan {
  // A different seed from the main NIC's, so the two MACs differ.
  const mac = macAddress(`${options.uuid ?? options.name}/control`);
  const { net, prefixLength, host, guest } = CONTROL_NETWORK;
  const netdev = [
    'user',
    `id=${CONTROL_NETDEV_ID}`,
    'restrict=on',
    `net=${net}/${prefixLength}`,
    `host=${host}`,
    `dhcpstart=${guest}`,
    'ipv6=off',
    `hostfwd=tcp:127.0.0.1:0-${guest}:${CONTROL_GUEST_SSH_PORT}`,
    `hostfwd=tcp:127.0.0.1:0-${guest}:${CONTROL_GUEST_PROBE_PORT}`,
  ].join(',');
  return {
    qemuArgs: ['-netdev', netdev, '-device', `virtio-net-pci,netdev=${CONTROL_NETDEV_ID},mac=${mac},${pciAddress('controlNetwork')}`],
    credentials: {
      [CONTROL_NETWORK_CREDENTIAL]:
        `[Match]\nMACAddress=${mac}\n\n[Network]\nAddress=${guest}/${prefixLength}\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`,
      [CONTROL_DROPIN_CREDENTIAL]: '[Unit]\nWants=systemd-network-generator.service systemd-networkd.service\n',
      // Every address: the control address is not configured yet when sockets.target binds it.
      [SSH_LISTEN_CREDENTIAL]: `0.0.0.0:${CONTROL_GUEST_SSH_PORT}\n`,
    },
    mac,
    guestPort: CONTROL_GUEST_SSH_PORT,
    kernelArgs: ['systemd.ssh_auto=no'],
  };
}
