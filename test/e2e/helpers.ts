/** Shared pieces of the end-to-end tests: the default and UEFI images and process checks (vitest runs in child processes: inline-vitest.ts). */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { isProcessAlive, processCommandLine } from '../../src/host/process-status.js';
import { defaultImage, type DefaultImage } from '../../src/image/default-image.js';
import { uefiImage, type UefiImage } from '../../src/image/uefi-image.js';
import type { MachineSummary } from '../../src/machine/summary.js';

/** The default image, as the plugin's global setup built it (or built now, when run without it). */
export async function image(): Promise<DefaultImage> {
  return inject('vitest-vmspawn:default-image') ?? defaultImage();
}

/** How long a first build of an image may take: a minute on a quiet machine, several on a busy one. */
export const IMAGE_BUILD_TIMEOUT = 900_000;

/** The UEFI image (GPT disk, systemd-boot, UKI), built on first use; call it in a hook with IMAGE_BUILD_TIMEOUT. */
export async function uefi(): Promise<UefiImage> {
  return uefiImage();
}

/** Whether a process with this PID runs; a zombie counts as gone. */
export function isRunning(pid: number | undefined): boolean {
  return pid !== undefined && isProcessAlive(pid);
}

/** A fresh temporary directory for the tests of one file, deleted after them, or kept and named when one of them failed. */
export function useWorkDir(prefix: string): () => string {
  let dir: string | undefined;
  let failed = false;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      failed = true;
    });
  });
  afterAll(async () => {
    if (!dir) return;
    // The machines' artifacts (console, journal, vmspawn.log) are what explains a failure.
    if (failed) console.warn(`A test failed: its work directory and the artifacts in it are kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('the work directory exists only while the tests run');
    return dir;
  };
}

/** Live processes (other than this one) whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => (processCommandLine(Number(pid))?.includes(text) ?? false) && isRunning(Number(pid)))
    .map(Number);
}

/** QEMU and helper daemons of a machine that are still running. */
export function machineProcesses(summary: MachineSummary): number[] {
  return Object.values(summary.processes).filter((pid): pid is number => pid !== undefined && isRunning(pid));
}

/** The private runtime directory of a QEMU process, read from its vhost-user socket argument. */
export function runtimeDirOf(qemuPid: number): string | undefined {
  const args = processCommandLine(qemuPid)?.split('\0') ?? [];
  const socket = args.map((arg) => /^socket,id=vsock,path=(.*)\/vhost-user-vsock\.sock$/.exec(arg)?.[1]).find(Boolean);
  return socket?.replaceAll(',,', ',');
}

/**
 * Whether this run boots machines without vsock (the e2e-no-vsock project sets VMSPAWN_VSOCK=none):
 * tests of what only vsock carries (notify messages, EXIT_STATUS, raw vsock streams) skip, saying so.
 */
export const WITHOUT_VSOCK = process.env.VMSPAWN_VSOCK === 'none';
export const NEEDS_VSOCK = 'needs vsock (VMSPAWN_VSOCK=none): notify messages, EXIT_STATUS and vsock streams are unavailable';

/**
 * The boot timeout of the core files' own machines: the default (120 s), and twice that without
 * vsock, where readiness and the journal go over SSH and a boot beside another under TCG was seen
 * to pass 120 s in CI.
 */
export const CORE_BOOT_TIMEOUT = WITHOUT_VSOCK ? 240_000 : 120_000;
