import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, test } from 'vitest';
import { encodeEd25519KeyPair, generateEd25519KeyPair, generateMachineKeys } from '../../src/ssh/keys.js';

function hasSshKeygen(): boolean {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  return true;
}

describe('SSH keys', () => {
  test('every generated pair parses, signs and verifies (2,000 generations)', () => {
    // ssh2's own generator failed about 0.45 % of calls: 2,000 clean ones in a row would happen
    // with that rate about once in 8,000 runs.
    const data = Buffer.from('challenge');
    for (let index = 0; index < 2_000; index++) {
      const pair = generateEd25519KeyPair(`key ${index}`);
      const privateKey = ssh2.utils.parseKey(pair.private);
      const publicKey = ssh2.utils.parseKey(pair.public);
      if (privateKey instanceof Error || publicKey instanceof Error) throw new Error(`pair ${index} does not parse`);
      expect(publicKey.getPublicSSH().equals(pair.publicBlob)).toBe(true);
      expect(privateKey.getPublicSSH().equals(pair.publicBlob)).toBe(true);
      if (index % 50 === 0) expect(publicKey.verify(data, privateKey.sign(data) as Buffer)).toBe(true);
    }
  }, 30_000);

  test('the private key has the layout of the openssh-key-v1 format', () => {
    const seed = Buffer.alloc(32, 7);
    const publicRaw = Buffer.alloc(32, 9);
    const pair = encodeEd25519KeyPair(seed, publicRaw, 'c', Buffer.from([1, 2, 3, 4]));
    const lines = pair.private.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN OPENSSH PRIVATE KEY-----');
    expect(lines.at(-1)).toBe('-----END OPENSSH PRIVATE KEY-----');
    for (const line of lines.slice(1, -1)) expect(line.length).toBeLessThanOrEqual(70);
    const body = Buffer.from(lines.slice(1, -1).join(''), 'base64');
    const fields = new WireReader(body.subarray(15));
    expect(body.subarray(0, 15).toString('latin1')).toBe('openssh-key-v1\0');
    expect([fields.text(), fields.text(), fields.text(), fields.uint32()]).toEqual(['none', 'none', '', 1]);
    expect(fields.bytes().equals(pair.publicBlob)).toBe(true);
    const privateSection = new WireReader(fields.bytes());
    expect(privateSection.length % 8).toBe(0);
    expect([privateSection.uint32(), privateSection.uint32()]).toEqual([0x01020304, 0x01020304]);
    expect(privateSection.text()).toBe('ssh-ed25519');
    expect(privateSection.bytes().equals(publicRaw)).toBe(true);
    expect(privateSection.bytes().equals(Buffer.concat([seed, publicRaw]))).toBe(true);
    expect(privateSection.text()).toBe('c');
    expect([...privateSection.rest()]).toEqual([1, 2, 3, 4, 5, 6, 7].slice(0, privateSection.rest().length));
    expect(pair.public).toBe(`ssh-ed25519 ${pair.publicBlob.toString('base64')} c`);
  });

  test.runIf(hasSshKeygen())('ssh-keygen reads the private key and derives the same public key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmspawn-keys-'));
    try {
      const pair = generateEd25519KeyPair('checked by ssh-keygen');
      writeFileSync(join(dir, 'key'), pair.private, { mode: 0o600 });
      const derived = execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'key')], { encoding: 'utf8' }).trim();
      expect(derived.split(' ').slice(0, 2)).toEqual(pair.public.split(' ').slice(0, 2));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a machine gets distinct client and host keys', () => {
    const keys = generateMachineKeys('vm');
    expect(keys.clientPublicKey).not.toBe(keys.hostPublicKey);
    expect(keys.hostPublicKey.startsWith('ssh-ed25519 ')).toBe(true);
    expect(keys.clientPrivateKey).toContain('BEGIN OPENSSH PRIVATE KEY');
  });
});

class WireReader {
  #offset = 0;
  constructor(private readonly buffer: Buffer) {}
  get length(): number {
    return this.buffer.length;
  }
  uint32(): number {
    const value = this.buffer.readUInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }
  bytes(): Buffer {
    const length = this.uint32();
    const value = this.buffer.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
  rest(): Buffer {
    return this.buffer.subarray(this.#offset);
  }
}
