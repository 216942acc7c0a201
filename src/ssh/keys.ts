/**
 * Per-machine SSH keys: an ephemeral ed25519 client key the engine logs in with, and an ed25519
 * host key that the guest's sshd gets through a credential so the client can pin it.
 */
import ssh2 from 'ssh2';
import type { GuestSshKeys } from '../plan/credentials.js';

export interface MachineSshKeys extends GuestSshKeys {
  /** OpenSSH private key of the client. */
  clientPrivateKey: string;
  /** The host key's public blob (SSH wire format), compared byte for byte during the handshake. */
  hostPublicKeyBlob: Buffer;
  /** The host key's OpenSSH public key line, for known_hosts files. */
  hostPublicKey: string;
}

export function generateMachineKeys(machineName: string): MachineSshKeys {
  const client = ssh2.utils.generateKeyPairSync('ed25519', { comment: `vitest-vmspawn client for ${machineName}` });
  const host = ssh2.utils.generateKeyPairSync('ed25519', { comment: `vitest-vmspawn host key of ${machineName}` });
  const parsedHost = ssh2.utils.parseKey(host.public);
  if (parsedHost instanceof Error) throw parsedHost;
  return {
    clientPrivateKey: client.private,
    clientPublicKey: client.public,
    hostPrivateKey: host.private,
    hostPublicKey: host.public,
    hostPublicKeyBlob: parsedHost.getPublicSSH(),
  };
}
