/**
 * The host ports QEMU's user-mode network listens on. A forward asked for with host port 0 gets a
 * free port from the kernel when QEMU binds it, so no other process can take it in between; QEMU
 * reports the ports it bound in the monitor's `info usernet`, which has no QMP counterpart.
 */
import { VmspawnError } from '../errors.js';
import type { ResolvedPortForward } from '../options/resolve-disks-network.js';
import { USER_NETWORK } from '../plan/network-plan.js';
import type { QmpClient } from './qmp-client.js';

/** A guest TCP port and the host port (on 127.0.0.1) that reaches it. */
export interface ForwardedPort {
  guest: number;
  host: number;
  hostAddress: string;
}

/** Reads the bound host port of each forward. */
export async function readForwardedPorts(qmp: QmpClient, forwards: readonly ResolvedPortForward[]): Promise<ForwardedPort[]> {
  if (forwards.length === 0) return [];
  const text = await qmp.execute<string>('human-monitor-command', { 'command-line': 'info usernet' });
  // Only the forwards into the user network: a machine without vsock has a second one, for SSH.
  const bound = parseUsernetForwards(text, USER_NETWORK.guest);
  return forwards.map((forward) => {
    const found = bound.find((entry) => entry.guest === forward.guest && (forward.host === 0 || entry.host === forward.host));
    if (!found) throw new VmspawnError(`QEMU does not list the forward of guest port ${forward.guest} in "info usernet":\n${text}`);
    return found;
  });
}

/**
 * The host forwards in `info usernet` output, e.g.
 * `  TCP[HOST_FORWARD]   9       127.0.0.1 37781       10.0.2.15    80     0     0`,
 * only those to `guestAddress` when it is given.
 */
export function parseUsernetForwards(text: string, guestAddress?: string): ForwardedPort[] {
  return text.split('\n').flatMap((line) => {
    const match = /^\s*TCP\[HOST_FORWARD\]\s+\S+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\b/.exec(line);
    if (!match || (guestAddress !== undefined && match[3] !== guestAddress)) return [];
    return [{ hostAddress: match[1]!, host: Number(match[2]), guest: Number(match[4]) }];
  });
}
