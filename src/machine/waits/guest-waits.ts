/**
 * Waits that ask the guest over SSH, on the backoff schedule: for a file, for a listening TCP port,
 * for a command to succeed or to fail.
 */
import { InvalidOptionsError, MachineStateError } from '../../errors.js';
import { toShellCommand } from '../../ssh/shell-quote.js';
import type { ExecResult } from '../../ssh/exec-types.js';
import { describeListeningPorts, parseListeningSockets, type ListeningSocket } from './proc-net-tcp.js';
import { outputTail } from './wait-errors.js';
import type { WaitContext } from './wait-context.js';
import { waitUntil } from './wait-loop.js';
import { resolveWaitOptions, type GuestWaitOptions } from './wait-options.js';

/** Resolves once `path` exists in the guest (any kind of file: regular, directory, socket, …). */
export async function waitForFile(context: WaitContext, path: string, options?: GuestWaitOptions): Promise<void> {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidOptionsError([{ option: 'path', message: `expected an absolute guest path, got ${JSON.stringify(path)}` }], 'waitForFile() arguments');
  }
  const resolved = resolveWaitOptions('waitForFile()', options);
  needsSsh(context, 'waitForFile()');
  await waitUntil(
    async (signal) => {
      const result = await context.exec(['stat', '-c', '%F', '--', path], { reject: false, signal });
      if (!result.failed) return { done: true, value: undefined };
      return { done: false, observed: outputTail(result.stderr) || `stat exited with status ${result.exitCode}` };
    },
    { waitingFor: `${path} to exist`, options: resolved, ended: context.ended },
  );
}

/** Resolves with the guest's sockets listening on TCP `port` (IPv4 and IPv6) once there is one. */
export async function waitForPort(context: WaitContext, port: number, options?: GuestWaitOptions): Promise<ListeningSocket[]> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidOptionsError([{ option: 'port', message: `expected a TCP port number from 1 to 65535, got ${JSON.stringify(port)}` }], 'waitForPort() arguments');
  }
  const resolved = resolveWaitOptions('waitForPort()', options);
  needsSsh(context, 'waitForPort()');
  return waitUntil(
    async (signal) => {
      // tcp6 is missing when IPv6 is off: cat still prints tcp and exits 1.
      const result = await context.exec(['cat', '/proc/net/tcp', '/proc/net/tcp6'], { reject: false, signal });
      const listening = parseListeningSockets(result.stdout);
      const onPort = listening.filter((socket) => socket.port === port);
      if (onPort.length > 0) return { done: true, value: onPort };
      return { done: false, observed: `listening TCP ports: ${describeListeningPorts(listening)}` };
    },
    { waitingFor: `guest TCP port ${port} to be listening`, options: resolved, ended: context.ended },
  );
}

/** Runs `command` until it exits with status 0; resolves with that run's result. */
export function waitUntilSucceeds(context: WaitContext, command: string | readonly string[], options?: GuestWaitOptions): Promise<ExecResult> {
  return waitForOutcome(context, 'waitUntilSucceeds()', command, true, options);
}

/** Runs `command` until it fails (non-zero status or a signal); resolves with that run's result. */
export function waitUntilFails(context: WaitContext, command: string | readonly string[], options?: GuestWaitOptions): Promise<ExecResult> {
  return waitForOutcome(context, 'waitUntilFails()', command, false, options);
}

async function waitForOutcome(
  context: WaitContext,
  method: string,
  command: string | readonly string[],
  success: boolean,
  options: GuestWaitOptions | undefined,
): Promise<ExecResult> {
  if (!(typeof command === 'string' ? command.trim() : Array.isArray(command) && command.length > 0)) {
    throw new InvalidOptionsError([{ option: 'command', message: `expected a shell command line or a non-empty argument vector, got ${JSON.stringify(command)}` }], `${method} arguments`);
  }
  const resolved = resolveWaitOptions(method, options);
  needsSsh(context, method);
  const shown = toShellCommand(command);
  return waitUntil(
    async (signal) => {
      const result = await context.exec(command, { reject: false, signal });
      if (result.failed !== success) return { done: true, value: result };
      return { done: false, observed: describeRun(result) };
    },
    { waitingFor: `\`${shown}\` to ${success ? 'succeed' : 'fail'}`, options: resolved, ended: context.ended },
  );
}

/** `exit status 1; stderr: …; stdout: …` */
export function describeRun(result: Pick<ExecResult, 'exitCode' | 'signal' | 'stdout' | 'stderr'>): string {
  const status = result.signal ? `killed by signal ${result.signal}` : `exit status ${result.exitCode}`;
  const stderr = result.stderr.trim() ? `; stderr: ${outputTail(result.stderr)}` : '';
  const stdout = result.stdout.trim() ? `; stdout: ${outputTail(result.stdout)}` : '';
  return `${status}${stderr}${stdout}`;
}

function needsSsh(context: WaitContext, method: string): void {
  if (!context.hasSsh) throw new MachineStateError(`${method} runs commands in the guest and needs SSH, which is off for this machine (ssh: false).`);
}
