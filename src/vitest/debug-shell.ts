/**
 * Debug mode (`VMSPAWN_DEBUG=1`, or the plugin's `debug: true`): a failed test's machine keeps
 * running, and the run prints how to open a shell in it and follow its journal with OpenSSH, then
 * waits until the person is done: the flag file printed with it is deleted, the guest powers off,
 * or the run is interrupted (Ctrl-C). No prompt: it works without a terminal and with parallel workers.
 *
 * The client key, known_hosts and an ssh_config go into a private directory (0700, files 0600). The
 * guest's sshd is reached as the engine reaches it: through vhost-device-vsock's unix socket, which
 * wants `CONNECT 22\n` first; a small Node script written next to the key does that as the
 * ssh_config's ProxyCommand, so nothing beyond OpenSSH's client is needed.
 */
import { existsSync, rmSync, watch } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedMachine } from '../machine/started-machine.js';

/** The environment variable that turns debug mode on. */
export const DEBUG_ENV = 'VMSPAWN_DEBUG';

/** Whether debug mode is on: `VMSPAWN_DEBUG=1` (or `true`/`yes`) in the environment, or the plugin option. */
export function debugModeOn(configured: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[DEBUG_ENV]?.trim().toLowerCase();
  if (value !== undefined && value !== '') return !['0', 'false', 'no', 'off'].includes(value);
  return configured ?? false;
}

export interface DebugShell {
  /** The private directory with the key, known_hosts, ssh_config and the flag file. */
  directory: string;
  /** `ssh -F <dir>/ssh_config <host>`: a root shell in the guest. */
  sshCommand: string[];
  /** The same, following the guest's journal. */
  journalCommand: string[];
  /** Delete this file to let the test run go on (the machine is then shut down). */
  flagFile: string;
}

/** The ProxyCommand: connects to vhost-device-vsock's socket, asks for guest port 22 and passes the bytes on. */
const VSOCK_PROXY = `import { createConnection } from 'node:net';
const [socketPath, port] = process.argv.slice(2);
const socket = createConnection(socketPath);
let received = Buffer.alloc(0);
const onData = (chunk) => {
  received = Buffer.concat([received, chunk]);
  const newline = received.indexOf(10);
  if (newline < 0) return;
  const reply = received.subarray(0, newline).toString();
  if (!reply.startsWith('OK ')) { process.stderr.write('vhost-device-vsock answered "' + reply + '"\\n'); process.exit(1); }
  socket.off('data', onData);
  process.stdout.write(received.subarray(newline + 1));
  socket.pipe(process.stdout);
  process.stdin.pipe(socket);
};
socket.on('data', onData);
socket.on('error', (error) => { process.stderr.write(error.message + '\\n'); process.exit(1); });
socket.on('close', () => process.exit(0));
socket.write('CONNECT ' + port + '\\n');
`;

/** Writes the files a person needs to reach the machine with `ssh`. */
export async function prepareDebugShell(vm: StartedMachine): Promise<DebugShell> {
  const access = vm.sshAccess;
  if (!access) throw new Error('the machine has no SSH (ssh: false)');
  const directory = await mkdtemp(join(tmpdir(), 'vitest-vmspawn-debug-'));
  await chmod(directory, 0o700);
  const host = `vitest-vmspawn-${vm.name}`;
  const file = (name: string) => join(directory, name);
  const files: Record<string, string> = {
    id_ed25519: access.clientPrivateKey,
    known_hosts: `${host} ${access.hostPublicKey}\n`,
    'vsock-proxy.mjs': VSOCK_PROXY,
    ssh_config: [
      `Host ${host}`,
      '  User root',
      `  IdentityFile ${file('id_ed25519')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${file('known_hosts')}`,
      '  StrictHostKeyChecking yes',
      `  HostKeyAlias ${host}`,
      ...(access.tcp
        ? [`  HostName ${access.tcp.host}`, `  Port ${access.tcp.port}`]
        : access.kernelVsockCid === undefined
          ? [`  ProxyCommand ${process.execPath} ${file('vsock-proxy.mjs')} ${access.vsockSocket} 22`]
          : [`  ProxyCommand socat - VSOCK-CONNECT:${access.kernelVsockCid}:22`]),
      '',
    ].join('\n'),
    'keep-running': 'Delete this file to end the debug wait; the test run then shuts the machine down.\n',
  };
  for (const [name, content] of Object.entries(files)) await writeFile(file(name), content, { mode: 0o600 });
  const sshCommand = ['ssh', '-F', file('ssh_config'), host];
  return { directory, sshCommand, journalCommand: [...sshCommand, 'journalctl', '-f'], flagFile: file('keep-running') };
}

/** What debug mode prints for a kept machine. */
export function describeDebugShell(testName: string, vm: Pick<StartedMachine, 'name' | 'artifactsDir'>, shell: DebugShell): string {
  return [
    `vitest-vmspawn debug: "${testName}" failed; its machine "${vm.name}" keeps running.`,
    `  shell:    ${shell.sshCommand.join(' ')}`,
    `  journal:  ${shell.journalCommand.join(' ')}`,
    `  continue: rm ${shell.flagFile}   (or power the guest off, or press Ctrl-C)`,
    `  artifacts: ${vm.artifactsDir}`,
    '',
  ].join('\n');
}

/** Resolves when the flag file is gone or the machine has exited; then deletes the directory. */
export async function waitForDebugEnd(vm: Pick<StartedMachine, 'waitForExit'>, shell: DebugShell): Promise<'flag-deleted' | 'machine-exited'> {
  // Also on an exit of the worker (Ctrl-C ends the machines and the process): the key must not stay behind.
  const removeOnExit = () => rmSync(shell.directory, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  const watcher = watch(shell.directory);
  try {
    const flagDeleted = new Promise<'flag-deleted'>((resolve) => {
      const check = () => {
        if (!existsSync(shell.flagFile)) resolve('flag-deleted');
      };
      watcher.on('change', check);
      watcher.on('error', () => resolve('flag-deleted'));
      check();
    });
    const exited = vm.waitForExit().then(() => 'machine-exited' as const, () => 'machine-exited' as const);
    return await Promise.race([flagDeleted, exited]);
  } finally {
    watcher.close();
    process.off('exit', removeOnExit);
    removeOnExit();
  }
}
