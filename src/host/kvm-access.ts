/**
 * Why /dev/kvm cannot be opened and what gives access: membership in the group that owns it
 * (kvm on Debian, Ubuntu and Fedora, set by udev), which takes a new login to apply.
 */
import { readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';

/** The hint for a /dev/kvm with this owner group and mode that `user` may not open. Pure. */
export function kvmAccessHint(device: { mode: number; group: string }, user: string, code: string): string {
  const mode = (device.mode & 0o777).toString(8).padStart(4, '0');
  if ((device.mode & 0o060) !== 0o060 || device.group === 'root') {
    return `/dev/kvm is not accessible to ${user} (${code}; mode ${mode}, group ${device.group}, which gives no group access): ` +
      'the device usually belongs to group kvm with mode 0660 (udev rule of the QEMU or systemd package); then sudo usermod -aG kvm ' +
      `${user} and log in again`;
  }
  return `/dev/kvm is not accessible to ${user} (${code}; mode ${mode}, group ${device.group}): join its group with ` +
    `sudo usermod -aG ${device.group} ${user} and log in again`;
}

/** The hint for the host's /dev/kvm, for an access that failed with `code`. */
export async function describeKvmAccess(code: string): Promise<string> {
  const user = userInfo().username;
  const device = await stat('/dev/kvm').catch(() => undefined);
  if (!device) return `/dev/kvm is not accessible (${code})`;
  const groups = await readFile('/etc/group', 'utf8').catch(() => '');
  const group = groups.split('\n').map((line) => line.split(':')).find((fields) => fields[2] === String(device.gid))?.[0] ?? String(device.gid);
  return kvmAccessHint({ mode: device.mode, group }, user, code);
}
