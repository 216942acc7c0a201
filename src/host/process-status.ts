/** What /proc says about a process: whether it still runs, and when it started. */
import { readFileSync } from 'node:fs';

/** Whether `pid` is a running process; a zombie (exited, status not yet collected) is not. */
export function isProcessAlive(pid: number): boolean {
  // kill(0) and kill(-N) address process groups, not a process.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return processState(pid) !== 'Z';
}

/** Field 22 of /proc/PID/stat: when the process started, which tells a reused PID apart. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** The process's command line, arguments separated by NUL. */
export function processCommandLine(pid: number): string | undefined {
  return readProcFile(pid, 'cmdline');
}

function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** Fields of /proc/PID/stat after the command name (which may contain spaces), from the state on. */
function statFields(pid: number): string[] | undefined {
  const stat = readProcFile(pid, 'stat');
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function readProcFile(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}
