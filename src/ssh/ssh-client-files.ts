/**
 * The files with which OpenSSH's client logs in to a machine as root: the client key, a
 * known_hosts that pins the guest's host key, and an ssh_config that reaches sshd over the
 * machine's own transport. Without vsock that is a TCP address; under kernel vsock `socat`; under
 * user-space vsock vhost-device-vsock's unix socket, which wants `CONNECT 22\n` first, so a small
 * Node script written next to the key does that as the ProxyCommand. Nothing beyond OpenSSH's client
 * (and socat for kernel vsock) is needed. Used by debug mode and the command line's shell/exec.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What an OpenSSH client needs to reach a machine (see StartedMachine.sshAccess). */
export interface SshClientAccess {
  clientPrivateKey: string;
  hostPublicKey: string;
  /** vhost-device-vsock's socket (user-space vsock). */
  vsockSocket: string;
  /** The guest's CID under kernel vsock. */
  kernelVsockCid?: number | undefined;
  /** Without vsock: the TCP address that reaches guest port 22. */
  tcp?: { host: string; port: number } | undefined;
}

export interface SshClientFiles {
  /** The `Host` name in the config. */
  host: string;
  /** The path of the ssh_config. */
  configFile: string;
  /** `ssh -F <config> <host>`. */
  sshCommand: string[];
}

/** The ProxyCommand: connects to vhost-device-vsock's socket, asks for guest port 22 and passes the bytes on. */
export const VSOCK_PROXY_SCRIPT = `import { createConnection } from 'node:net';
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

/** The `Host` alias a machine gets in ssh_config. */
export function sshHostAlias(machineName: string): string {
  return `vitest-vmspawn-${machineName}`;
}

/**
 * The files (name → content) for reaching `machineName` from `directory`; pure. `nodePath` runs
 * the vsock proxy script.
 */
export function planSshClientFiles(directory: string, machineName: string, access: SshClientAccess, nodePath = process.execPath): Record<string, string> {
  const host = sshHostAlias(machineName);
  const file = (name: string) => join(directory, name);
  const route = access.tcp
    ? [`  HostName ${access.tcp.host}`, `  Port ${access.tcp.port}`]
    : access.kernelVsockCid === undefined
      ? [`  ProxyCommand ${nodePath} ${file('vsock-proxy.mjs')} ${access.vsockSocket} 22`]
      : [`  ProxyCommand socat - VSOCK-CONNECT:${access.kernelVsockCid}:22`];
  return {
    id_ed25519: access.clientPrivateKey.endsWith('\n') ? access.clientPrivateKey : `${access.clientPrivateKey}\n`,
    known_hosts: `${host} ${access.hostPublicKey}\n`,
    ...(!access.tcp && access.kernelVsockCid === undefined && { 'vsock-proxy.mjs': VSOCK_PROXY_SCRIPT }),
    ssh_config: [
      `Host ${host}`,
      '  User root',
      `  IdentityFile ${file('id_ed25519')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${file('known_hosts')}`,
      '  StrictHostKeyChecking yes',
      `  HostKeyAlias ${host}`,
      '  BatchMode yes',
      '  LogLevel ERROR',
      ...route,
      '',
    ].join('\n'),
  };
}

/** Writes the files into `directory` (created 0700; files 0600). */
export async function writeSshClientFiles(directory: string, machineName: string, access: SshClientAccess): Promise<SshClientFiles> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  await chmod(directory, 0o700);
  for (const [name, content] of Object.entries(planSshClientFiles(directory, machineName, access))) {
    await writeFile(join(directory, name), content, { mode: 0o600 });
  }
  const host = sshHostAlias(machineName);
  const configFile = join(directory, 'ssh_config');
  return { host, configFile, sshCommand: ['ssh', '-F', configFile, host] };
}
