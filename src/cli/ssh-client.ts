/**
 * `shell` and `exec` run OpenSSH's client with the machine's ssh_config (registry.ts writes it):
 * root login with the machine's ephemeral key, the host key pinned, over the machine's own transport.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { CliIo } from './command.js';
import type { RegistryEntry } from '../registry/machine-record.js';
import { toShellCommand } from '../ssh/shell-quote.js';

/** ssh's exit code when it could not connect or log in. */
export const SSH_FAILED = 255;

/**
 * The argv of `ssh` for `entry`: a login shell without `command`, else the command (one argument is
 * a shell command line; several are quoted and joined). `tty` forces a terminal (`-t`) or none (`-T`).
 */
export function planSshArgs(configFile: string, host: string, command: readonly string[], tty?: boolean): string[] {
  const terminal = tty === undefined ? [] : [tty ? '-t' : '-T'];
  const remote = command.length === 0 ? [] : ['--', command.length === 1 ? command[0]! : toShellCommand(command)];
  return ['-F', configFile, ...terminal, host, ...remote];
}

/** The machine's ssh_config and Host alias; throws when it has none. */
export function sshTarget(entry: RegistryEntry): { configFile: string; host: string } {
  const ssh = entry.record?.ssh;
  if (entry.state === 'orphaned') throw new Error(`"${entry.name ?? entry.id}" is orphaned (its process is gone); vitest-vmspawn terminate --orphans ends it.`);
  if (!entry.record) throw new Error(`"${entry.id}" is still starting; try again once vitest-vmspawn list shows it running.`);
  if (!ssh || !existsSync(ssh.configFile)) throw new Error(`"${entry.record.name}" has no SSH (it was started with ssh: false).`);
  return ssh;
}

/** Runs ssh with the command's streams; the terminal is passed on as it is when the streams are the process's own. */
export function runSsh(args: string[], io: CliIo): Promise<number> {
  const own = io.stdin === process.stdin && io.stdout === process.stdout && io.stderr === process.stderr;
  const stdio: StdioOptions = own ? 'inherit' : ['pipe', 'pipe', 'pipe'];
  const child = spawn('ssh', args, { stdio, env: io.env, cwd: io.cwd });
  if (!own) {
    child.stdout!.pipe(io.stdout, { end: false });
    child.stderr!.pipe(io.stderr, { end: false });
    io.stdin.pipe(child.stdin!);
    child.stdin!.on('error', () => undefined);
  }
  const onAbort = () => child.kill('SIGTERM');
  io.signal.addEventListener('abort', onAbort, { once: true });
  return new Promise((resolve) => {
    child.on('error', (error) => {
      io.stderr.write(`could not run ssh (OpenSSH's client): ${error.message}\n`);
      resolve(SSH_FAILED);
    });
    child.on('close', (code, signal) => {
      io.signal.removeEventListener('abort', onAbort);
      if (!own) io.stdin.unpipe(child.stdin!);
      resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : SSH_FAILED));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Partial<Record<NodeJS.Signals, number>>)[signal];
}
