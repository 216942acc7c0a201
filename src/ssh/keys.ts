/**
 * Per-machine SSH keys: an ephemeral ed25519 client key the engine logs in with, and an ed25519
 * host key that the guest's sshd gets through a credential so the client can pin it.
 *
 * The pairs come from node:crypto and are written in OpenSSH's formats here: ssh2's own generator
 * returns a key that ssh2 cannot parse back in about one call of 200 (mscdex/ssh2 #1390, #1513),
 * which failed about one boot in a hundred.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
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

export interface OpenSshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` … (unencrypted). */
  private: string;
  /** `ssh-ed25519 AAAA… comment`. */
  public: string;
  /** The public key in SSH wire format. */
  publicBlob: Buffer;
}

export function generateMachineKeys(machineName: string): MachineSshKeys {
  const client = generateEd25519KeyPair(`vitest-vmspawn client for ${machineName}`);
  const host = generateEd25519KeyPair(`vitest-vmspawn host key of ${machineName}`);
  return {
    clientPrivateKey: client.private,
    clientPublicKey: client.public,
    hostPrivateKey: host.private,
    hostPublicKey: host.public,
    hostPublicKeyBlob: host.publicBlob,
  };
}

const KEY_TYPE = 'ssh-ed25519';
/** RFC 8410: the DER of an ed25519 key is a fixed prefix followed by the 32 key bytes. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function derSuffix(der: Buffer, prefix: Buffer): Buffer {
  if (der.length !== prefix.length + 32 || !der.subarray(0, prefix.length).equals(prefix)) {
    throw new Error(`Unexpected DER encoding of an ed25519 key (${der.toString('hex')}); this is a bug.`);
  }
  return der.subarray(prefix.length);
}

/** A new ed25519 key pair in OpenSSH's formats, checked by parsing it back with ssh2. */
export function generateEd25519KeyPair(comment: string): OpenSshKeyPair {
  // DER, not JWK: exporting an ed25519 private key as JWK hangs Node 20.20 now and then (within a
  // few thousand calls here), while DER held for 60,000.
  const { publicKey, privateKey } = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const publicRaw = derSuffix(publicKey, SPKI_PREFIX);
  const seed = derSuffix(privateKey, PKCS8_PREFIX);
  const pair = encodeEd25519KeyPair(seed, publicRaw, comment, randomBytes(4));
  for (const key of [pair.private, pair.public]) {
    const parsed = ssh2.utils.parseKey(key);
    if (parsed instanceof Error) throw new Error(`Generated an SSH key that does not parse (${parsed.message}); this is a bug.`);
  }
  return pair;
}

/**
 * Encodes an ed25519 pair as OpenSSH does: the public line, and the unencrypted "openssh-key-v1"
 * private key (PROTOCOL.key in OpenSSH's sources). `checkInt` is the random check word.
 */
export function encodeEd25519KeyPair(seed: Buffer, publicRaw: Buffer, comment: string, checkInt: Buffer): OpenSshKeyPair {
  if (seed.length !== 32 || publicRaw.length !== 32) throw new Error('ed25519 keys are 32 bytes');
  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(publicRaw)]);
  const privateFields = Buffer.concat([
    checkInt,
    checkInt,
    sshString(KEY_TYPE),
    sshString(publicRaw),
    sshString(Buffer.concat([seed, publicRaw])),
    sshString(comment),
  ]);
  // Padded with 1, 2, 3, … to the cipher's block size, 8 for "none".
  const padding = Buffer.from(Array.from({ length: (8 - (privateFields.length % 8)) % 8 }, (_, index) => index + 1));
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([privateFields, padding])),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    public: `${KEY_TYPE} ${publicBlob.toString('base64')} ${comment}`,
    publicBlob,
  };
}

function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([uint32(bytes.length), bytes]);
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}
