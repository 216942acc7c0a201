/**
 * The host checks of `network: { tap }`: QEMU opens /dev/net/tun and attaches to the tap device of
 * that name, creating it when it does not exist, which needs CAP_NET_ADMIN (root). A tap device made
 * beforehand for this user (`ip tuntap add dev NAME mode tap user USER`) needs no privilege.
 */
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import type { OptionProblem } from '../errors.js';
import type { NetworkSetting } from './machine-options.js';

/** Capability bit of CAP_NET_ADMIN (linux/capability.h). */
const CAP_NET_ADMIN = 12n;

export async function checkNetwork(network: NetworkSetting): Promise<OptionProblem | undefined> {
  if (typeof network !== 'object') return undefined;
  const { tap } = network;
  const tun = await access('/dev/net/tun', constants.R_OK | constants.W_OK).then(() => undefined, (error: NodeJS.ErrnoException) => error.code);
  if (tun) {
    return {
      option: 'network.tap',
      message: `/dev/net/tun cannot be opened for reading and writing (${tun}): tap networking needs the tun driver (modprobe tun) and access to it`,
    };
  }
  const exists = await access(`/sys/class/net/${tap}`).then(() => true, () => false);
  if (exists) {
    const isTap = await access(`/sys/class/net/${tap}/tun_flags`).then(() => true, () => false);
    return isTap ? undefined : { option: 'network.tap', message: `${tap} exists but is not a tap device: name a tap device, or a free name (created as root)` };
  }
  if (await hasNetAdmin()) return undefined;
  return {
    option: 'network.tap',
    message:
      `no network interface ${tap} exists, and creating a tap device needs root (CAP_NET_ADMIN): create it beforehand, ` +
      `e.g. \`sudo ip tuntap add dev ${tap} mode tap user $USER\`, and set up its host side (an address, a DHCP server or a bridge)`,
  };
}

/** Whether this process has CAP_NET_ADMIN in its effective set. */
export async function hasNetAdmin(status?: string): Promise<boolean> {
  const text = status ?? (await readFile('/proc/self/status', 'utf8').catch(() => ''));
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  return match?.[1] !== undefined && ((BigInt(`0x${match[1]}`) >> CAP_NET_ADMIN) & 1n) === 1n;
}
