/**
 * How much memory this host can give a guest: its RAM and its swap. Guest memory beyond both cannot
 * be allocated (QEMU fails after it started) or pushes the host into the OOM killer.
 */
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';

export interface HostMemory {
  ramBytes: number;
  swapBytes: number;
}

/** The host's RAM (`os.totalmem()`) and swap (`SwapTotal` in /proc/meminfo, 0 when unreadable). */
export async function hostMemory(): Promise<HostMemory> {
  const meminfo = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  return { ramBytes: totalmem(), swapBytes: parseSwapTotal(meminfo) };
}

/** `SwapTotal:  2097148 kB` → bytes; 0 when the line is missing. */
export function parseSwapTotal(meminfo: string): number {
  const kibibytes = /^SwapTotal:\s+(\d+)\s*kB$/m.exec(meminfo)?.[1];
  return kibibytes === undefined ? 0 : Number(kibibytes) * 1024;
}
