/**
 * Ending a machine from another process. The machine belongs to the process that started it (a
 * vitest worker, or `run`): only it can finish the artifacts and tell its test. So `terminate`
 * asks it first (a request file in the runtime directory, which the owner watches, see
 * registry.ts) and waits until the owner has shut the machine down and deleted the runtime
 * directory. An owner that does not react in time (its event loop blocked) gets QEMU ended under
 * it: SIGTERM, then SIGKILL to every process the directory records; the owner then sees QEMU exit
 * and finishes as after a crash. A machine whose owner is gone is reaped as the next run would
 * (machine/abandoned-machines.ts).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killRecordedChildren } from '../host/runtime-dir.js';
import { processCommandLine } from '../host/process-status.js';
import { reapAbandonedMachines } from '../machine/abandoned-machines.js';
import type { RegistryEntry } from './machine-record.js';
import { TERMINATE_REQUEST_FILE } from './registry.js';

const POLL_MS = 100;

export interface TerminateOptions {
  /**
   * Milliseconds the owner gets to shut the machine down before QEMU is ended under it.
   * @default 60_000
   */
  timeout?: number;
  /**
   * Milliseconds the owner gets to notice QEMU's end after each signal and remove the runtime directory.
   * @default 10_000
   */
  killGrace?: number;
  signal?: AbortSignal;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface TerminateResult {
  /** `owner`: the owning process shut it down; `signal`: QEMU was ended under it; `reaped`: the owner was gone. */
  how: 'owner' | 'signal' | 'reaped';
}

export class TerminateError extends Error {
  override name = 'TerminateError';
}

export async function terminateMachine(entry: RegistryEntry, root: string, options: TerminateOptions = {}): Promise<TerminateResult> {
  const { timeout = 60_000, killGrace = 10_000, signal, log = () => undefined } = options;
  if (entry.state === 'orphaned') {
    await reapAbandonedMachines(root, entry.runtimeDir);
    if (existsSync(entry.runtimeDir)) throw new TerminateError(`could not remove ${entry.runtimeDir}; remove it by hand.`);
    return { how: 'reaped' };
  }
  await writeFile(join(entry.runtimeDir, TERMINATE_REQUEST_FILE), `${process.pid}\n`, { mode: 0o600 }).catch((error: Error) => {
    if (existsSync(entry.runtimeDir)) throw error;
  });
  log(`asked process ${entry.ownerPid} to shut the machine down`);
  if (await gone(entry.runtimeDir, timeout, signal)) return { how: 'owner' };
  const qemuPid = entry.record?.qemuPid;
  if (qemuPid !== undefined && processCommandLine(qemuPid)?.includes(entry.runtimeDir)) {
    log(`process ${entry.ownerPid} did not shut it down within ${timeout} ms: sending SIGTERM to QEMU (pid ${qemuPid})`);
    try {
      process.kill(qemuPid, 'SIGTERM');
    } catch {
      // exited meanwhile
    }
    if (await gone(entry.runtimeDir, killGrace, signal)) return { how: 'signal' };
  }
  log('killing the processes the machine recorded');
  await killRecordedChildren(entry.runtimeDir);
  if (await gone(entry.runtimeDir, killGrace, signal)) return { how: 'signal' };
  throw new TerminateError(
    `the machine's processes were ended, but its owner (pid ${entry.ownerPid}) did not remove ${entry.runtimeDir}; ` +
      'it is stuck: end that process (its test run) and run vitest-vmspawn terminate --orphans.',
  );
}

/** Whether the directory disappears within `timeoutMs` (polled: its deletion is the owner's last step). */
async function gone(dir: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (existsSync(dir)) {
    if (Date.now() >= deadline) return false;
    signal?.throwIfAborted();
    await sleep(POLL_MS);
  }
  return true;
}
