/**
 * Tells apart a guest that shuts down from one that merely lost a connection. When the guest powers
 * off, its sshd goes first, and the notify messages that say so arrive a little later: a closed SSH
 * connection alone does not tell which happened.
 */
import { isGoingDownSign } from '../notify/notify-message.js';
import type { MachineRuntime } from './machine-runtime.js';

/** Whether the guest is shutting down, or shows it within `graceMs`. */
export async function guestStopsWithin(runtime: MachineRuntime, graceMs: number): Promise<boolean> {
  const stopping = () => runtime.state === 'stopping' || runtime.state === 'exited' || runtime.notify.messages.some(isGoingDownSign);
  if (stopping()) return true;
  const signs: Array<Promise<boolean>> = [runtime.notify.waitFor(isGoingDownSign, { timeout: graceMs }).then(() => true, stopping)];
  if (runtime.qemu) signs.push(runtime.qemu.exited.then(() => true));
  return Promise.race(signs);
}
