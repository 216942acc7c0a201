/**
 * Private runtime directories, one per machine, under a per-user root that only its owner can
 * enter. Each records the process that owns it and the PIDs of the children it started, so that a
 * later run can kill and delete what a run that was killed left behind.
 */
import { existsSync, rmSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VmspawnError } from '../errors.js';
import { isProcessAlive, processCommandLine, processStartTime } from './process-status.js';

export const OWNER_FILE = 'owner';
export const PIDS_FILE = 'pids';

/** The per-user root of all runtime directories (under `$XDG_RUNTIME_DIR` of `env` when it exists). */
export function runtimeRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR && existsSync(env.XDG_RUNTIME_DIR) ? env.XDG_RUNTIME_DIR : tmpdir();
  return join(base, `vitest-vmspawn-${process.getuid?.() ?? 'user'}`);
}

/** Creates the root (0700) if needed and refuses one that another user owns or others can enter. */
async function ensureRoot(): Promise<string> {
  const root = runtimeRoot();
  await mkdir(root, { recursive: true, mode: 0o700 });
  const info = await lstat(root);
  const uid = process.getuid?.();
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid) || (info.mode & 0o077) !== 0) {
    throw new VmspawnError(
      `${root} must be a directory owned by you with mode 0700 (it holds sockets and credentials); remove it and try again.`,
    );
  }
  return root;
}

/** Runtime directories of this process that still exist; removed on exit if nothing else did. */
const liveDirs = new Set<string>();
let exitHookInstalled = false;

/** Creates a fresh private (0700) directory for one machine. */
export async function createRuntimeDir(): Promise<string> {
  const dir = await mkdtemp(join(await ensureRoot(), 'vm-'));
  await writeFile(join(dir, OWNER_FILE), `${process.pid} ${processStartTime(process.pid) ?? ''}\n`, { mode: 0o600 });
  liveDirs.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeLiveRuntimeDirsSync);
  }
  return dir;
}

/** Deletes every runtime directory of this process at once, synchronously (for a process about to end). */
export function removeLiveRuntimeDirsSync(): void {
  for (const live of liveDirs) rmSync(live, { recursive: true, force: true });
  liveDirs.clear();
}

export async function removeRuntimeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

export interface ReapOptions {
  /**
   * The root to look in.
   * @default runtimeRoot()
   */
  root?: string;
  /**
   * Only this runtime directory (when it is stale), not every stale one.
   * @default every stale directory under root
   */
  only?: string;
  /** Called for each stale directory after its processes were killed and before it is deleted. */
  beforeRemove?: (dir: string, ownerPid: number | undefined) => Promise<void>;
}

/**
 * Kills the processes and deletes the directories of machines whose owning process is gone.
 * Returns the directories it removed.
 */
export async function reapStaleRuntimeDirs(options: ReapOptions = {}): Promise<string[]> {
  const root = options.root ?? runtimeRoot();
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return [];
  }
  const reaped: string[] = [];
  for (const entry of entries) {
    const dir = join(root, entry);
    if (options.only !== undefined && dir !== options.only) continue;
    const owner = await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
    if (owner === undefined) continue;
    const [pid, startTime] = owner.trim().split(' ');
    if (pid && isSameProcessAlive(Number(pid), startTime)) continue;
    await killRecordedChildren(dir);
    await options.beforeRemove?.(dir, pid ? Number(pid) : undefined).catch(() => undefined);
    await removeRuntimeDir(dir);
    reaped.push(dir);
  }
  return reaped;
}

/** Kills (SIGKILL) the recorded children of `dir` whose command line still names it. */
export async function killRecordedChildren(dir: string): Promise<void> {
  const pids = await readFile(join(dir, PIDS_FILE), 'utf8').catch(() => '');
  for (const line of pids.split('\n')) {
    const pid = Number(line.split(' ')[0]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    // Only a process whose command line names this directory is ours: PIDs are reused.
    const commandLine = processCommandLine(pid);
    if (commandLine?.includes(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** Whether `pid` runs and, when `startTime` is given, is the process that started then (PIDs are reused). */
export function isSameProcessAlive(pid: number, startTime: string | undefined): boolean {
  return isProcessAlive(pid) && (!startTime || processStartTime(pid) === startTime);
}
