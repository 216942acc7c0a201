/**
 * Child processes (QEMU, vhost-device-vsock) that cannot outlive the test process:
 * - on Linux each is started through `setpriv --pdeathsig KILL`, so the kernel kills it when the
 *   process that spawned it dies, even by SIGKILL;
 * - every live child is killed when the Node process exits, and when the process that forked this
 *   one goes away (a test runner's worker whose runner was killed lives on as an orphan);
 * - each machine records its children's PIDs in its runtime directory, so a later run can reap
 *   what a crashed one left (see src/host/runtime-dir.ts).
 */
import { appendFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { findExecutable } from '../host/tools.js';

export interface ProcessExit {
  exitCode: number | undefined;
  signal: string | undefined;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process has exited. Never rejects. */
  readonly exited: Promise<ProcessExit>;
  readonly hasExited: boolean;
  /** Sends `signal` (default SIGKILL) unless the process already exited. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  terminate(graceMs: number): Promise<ProcessExit>;
}

export interface SpawnOptions {
  /** File receiving the process's stdout and stderr (appended). */
  logFile: string;
  /** File the PID is appended to, for reaping after a crash. */
  pidFile: string;
  cwd?: string;
}

const liveProcesses = new Set<ManagedProcess>();
/** PIDs of short-lived tools started by {@link runOwned} that are still running. */
const liveToolPids = new Set<number>();
let exitHookInstalled = false;
let setprivPath: Promise<string | undefined> | undefined;

/** The command line that runs `binary` so that the kernel kills it when this process dies (setpriv --pdeathsig). */
export async function diesWithThisProcess(binary: string, args: readonly string[]): Promise<[string, string[]]> {
  setprivPath ??= process.platform === 'linux' ? findExecutable('setpriv') : Promise.resolve(undefined);
  const setpriv = await setprivPath;
  return setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', binary, ...args]] : [binary, [...args]];
}

export async function spawnManaged(name: string, binary: string, args: readonly string[], options: SpawnOptions): Promise<ManagedProcess> {
  installExitHook();
  const [file, argv] = await diesWithThisProcess(binary, args);

  const subprocess: ResultPromise = execa(file, argv, {
    stdin: 'ignore',
    stdout: { file: options.logFile, append: true },
    stderr: { file: options.logFile, append: true },
    reject: false,
    cleanup: true,
    cwd: options.cwd,
  });
  const pid = subprocess.pid;
  if (pid === undefined) {
    const result = await subprocess;
    throw new Error(`Cannot start ${name} (${binary}): ${result.message ?? 'spawn failed'}`);
  }
  await appendFile(options.pidFile, `${pid} ${name}\n`, { mode: 0o600 });

  let hasExited = false;
  const exited = subprocess.then(
    (result): ProcessExit => ({ exitCode: result.exitCode, signal: result.signal }),
    (): ProcessExit => ({ exitCode: undefined, signal: undefined }),
  );
  const managed: ManagedProcess = {
    name,
    pid,
    exited,
    get hasExited() {
      return hasExited;
    },
    kill(signal = 'SIGKILL') {
      if (!hasExited) subprocess.kill(signal);
    },
    async terminate(graceMs) {
      if (hasExited) return exited;
      subprocess.kill('SIGTERM');
      const timer = setTimeout(() => subprocess.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
  liveProcesses.add(managed);
  void exited.then(() => {
    hasExited = true;
    liveProcesses.delete(managed);
  });
  return managed;
}

export interface ToolResult {
  exitCode: number | undefined;
  /** stdout and stderr, interleaved. */
  output: string;
}

/**
 * Runs a short-lived tool (e.g. the journal converter) to completion, so that it dies with this
 * process like the managed ones: through `setpriv --pdeathsig`, and killed with them by PID (which
 * also covers a process that ends before setpriv armed the parent-death signal).
 */
export async function runOwned(binary: string, args: readonly string[]): Promise<ToolResult> {
  installExitHook();
  const [file, argv] = await diesWithThisProcess(binary, args);
  const subprocess = execa(file, argv, { stdin: 'ignore', reject: false, all: true });
  const pid = subprocess.pid;
  if (pid !== undefined) liveToolPids.add(pid);
  try {
    const result = await subprocess;
    return { exitCode: result.exitCode, output: result.all?.trim() ?? '' };
  } finally {
    if (pid !== undefined) liveToolPids.delete(pid);
  }
}

/** Processes started by this Node process that are still running. */
export function liveManagedProcesses(): readonly ManagedProcess[] {
  return [...liveProcesses];
}

/** How long tools may still run once this process is told to end: enough to finish an artifact, not to hold the end. */
export const TOOL_GRACE_MS = 5_000;

/**
 * Kills every live managed process (QEMU and its helpers) at once, synchronously. Tools run by
 * {@link runOwned} get {@link TOOL_GRACE_MS} to finish: they write artifacts (the native journal)
 * from files that are complete. One still running then is killed, so a hung tool cannot keep an
 * ending process alive.
 */
export function killManagedProcesses(): void {
  killPids([...liveProcesses].map((child) => child.pid));
  setTimeout(() => killPids([...liveToolPids]), TOOL_GRACE_MS).unref();
}

/** Kills every live child, managed processes and tools, at once: this process is exiting. */
function killAllChildren(): void {
  killPids([...[...liveProcesses].map((child) => child.pid), ...liveToolPids]);
}

function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

const parentWatchers = new Set<() => void>();

/** Calls `onParentGone` once the process that forked this one is gone (its IPC channel closed). */
export function onParentGone(onParentGone: () => void): void {
  parentWatchers.add(onParentGone);
  installExitHook();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAllChildren);
  // A forked worker (vitest's default pool) learns of its parent's death through its IPC channel;
  // it is not killed with its parent, so its machines would live on.
  if (process.send) {
    process.once('disconnect', () => {
      killManagedProcesses();
      for (const watcher of parentWatchers) watcher();
    });
  }
}
