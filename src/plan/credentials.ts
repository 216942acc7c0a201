/**
 * The system credentials a machine receives over SMBIOS type 11: the engine's own (readiness
 * socket, journal destination, SSH keys, hostname, the lifted journald rate limit) merged with the
 * user's.
 */
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import { journaldRateLimitCredentials } from './journald-rate-limit.js';

/** A credential with its value known at planning time, or read from a host file when written. */
export type PlannedCredential = { name: string; value: Uint8Array } | { name: string; file: string };

/** Host-side ends of the guest's vsock connections. */
export interface GuestPorts {
  /** Host port the guest's system manager sends sd_notify messages to. */
  notify: number;
  /** Host port journald forwards the journal to. */
  journal: number;
}

/** The SSH material that travels into the guest. */
export interface GuestSshKeys {
  /** OpenSSH public key line of the client key the engine logs in with. */
  clientPublicKey: string;
  /** OpenSSH private host key the guest's sshd presents; the client pins its public half. */
  hostPrivateKey: string;
  /** Its OpenSSH public key line, installed beside it. */
  hostPublicKey: string;
}

/** The vsock CID of the host, as seen from a guest. */
export const HOST_CID = 2;

/** Read by the sshd units systemd-ssh-generator provides itself (systemd ≥ 256). */
export const AUTHORIZED_KEYS_CREDENTIAL = 'ssh.ephemeral-authorized_keys-all';
/**
 * Written to /root/.ssh/authorized_keys by tmpfiles (systemd's provision.conf), for images whose own
 * sshd units ignore the ephemeral credential (Debian's). Never overwrites an existing file.
 */
export const ROOT_AUTHORIZED_KEYS_CREDENTIAL = 'ssh.authorized_keys.root';
export const TMPFILES_CREDENTIAL = 'tmpfiles.extra';

/**
 * @param noVsock without vsock: no notify socket and no journal destination (the journal is read
 * over SSH), and the control network's credentials (their `ssh.listen` lines joined with the user's).
 */
export function planCredentials(
  options: ResolvedMachineOptions,
  ports: GuestPorts,
  ssh: GuestSshKeys | undefined,
  noVsock?: { credentials: Record<string, string> },
): PlannedCredential[] {
  const text = (value: string) => new TextEncoder().encode(value);
  const userValue = (name: string) => {
    const value = options.setCredential[name];
    return value ? new TextDecoder().decode(value) : undefined;
  };

  const engine = new Map<string, Uint8Array>();
  if (!noVsock) engine.set('vmm.notify_socket', text(`vsock-stream:${HOST_CID}:${ports.notify}`));
  engine.set('system.hostname', text(options.name));
  if (options.forwardJournal && !noVsock) engine.set('journal.forward_to_socket', text(`vsock:${HOST_CID}:${ports.journal}`));
  for (const [name, value] of Object.entries(noVsock?.credentials ?? {})) engine.set(name, text(name === 'ssh.listen' ? joinLines(userValue(name), value) : value));
  if (ssh) {
    for (const name of [AUTHORIZED_KEYS_CREDENTIAL, ROOT_AUTHORIZED_KEYS_CREDENTIAL]) {
      engine.set(name, text(joinLines(userValue(name), ssh.clientPublicKey)));
    }
    engine.set(TMPFILES_CREDENTIAL, text(joinLines(userValue(TMPFILES_CREDENTIAL), hostKeyTmpfilesLines(ssh))));
  }
  if (!options.journalRateLimit) {
    for (const [name, value] of Object.entries(journaldRateLimitCredentials())) engine.set(name, text(value));
  }

  const credentials: PlannedCredential[] = [...engine].map(([name, value]) => ({ name, value }));
  for (const [name, value] of Object.entries(options.setCredential)) {
    if (!engine.has(name)) credentials.push({ name, value });
  }
  for (const [name, file] of Object.entries(options.loadCredential)) credentials.push({ name, file });
  return credentials;
}

/**
 * tmpfiles.d lines that write the host key pair before sshd first runs: `f+` replaces a key baked into
 * the image, `~` says the argument is base64. The public half is written too, so that an image's own
 * `.pub` does not stay beside a private key it does not match (sshd and ssh-keygen complain about it).
 */
export function hostKeyTmpfilesLines(keys: Pick<GuestSshKeys, 'hostPrivateKey' | 'hostPublicKey'>): string {
  const line = (path: string, mode: string, content: string) => `f+~ ${path} ${mode} root root - ${Buffer.from(content).toString('base64')}`;
  return [
    line('/etc/ssh/ssh_host_ed25519_key', '0600', keys.hostPrivateKey),
    line('/etc/ssh/ssh_host_ed25519_key.pub', '0644', `${keys.hostPublicKey.trimEnd()}\n`),
  ].join('\n');
}

/** The SMBIOS type 11 string that carries one credential. */
export function smbiosCredential(name: string, value: Uint8Array): string {
  return `io.systemd.credential.binary:${name}=${Buffer.from(value).toString('base64')}`;
}

function joinLines(...parts: Array<string | undefined>): string {
  return parts
    .filter((part): part is string => part !== undefined && part.trim() !== '')
    .map((part) => part.trimEnd())
    .join('\n')
    .concat('\n');
}
