/** Shared pieces of the end-to-end tests: the default image and process checks. */
import { readdirSync, readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { defaultImage, type DefaultImage } from '../../src/image/default-image.js';
import type { MachineSummary } from '../../src/machine/summary.js';

/** The default image, as the plugin's global setup built it (or built now, when run without it). */
export async function image(): Promise<DefaultImage> {
  return inject('vitest-vmspawn:default-image') ?? defaultImage();
}

/** Whether a process with this PID exists; a zombie counts as gone. */
export function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes (other than this one) whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && isRunning(Number(pid));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** QEMU and vsock daemon of a machine that are still running. */
export function machineProcesses(summary: MachineSummary): number[] {
  return [summary.processes.qemu, summary.processes.vsockDaemon].filter((pid): pid is number => isRunning(pid));
}

/** The private runtime directory of a QEMU process, read from its vhost-user socket argument. */
export function runtimeDirOf(qemuPid: number): string | undefined {
  const args = readFileSync(`/proc/${qemuPid}/cmdline`, 'utf8').split('\0');
  const socket = args.map((arg) => /^socket,id=vsock,path=(.*)\/vhost-user-vsock\.sock$/.exec(arg)?.[1]).find(Boolean);
  return socket?.replaceAll(',,', ',');
}
