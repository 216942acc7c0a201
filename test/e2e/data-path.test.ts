/**
 * Nothing lost between guest and host: exec output of every size on stdout and stderr, many
 * commands at once, raw vsock streams of 64 MiB each way, and an SSH connection that dies under a
 * running command. One boot proves all of it; every transfer is checked by its SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExecConnectionLostError } from '../../src/errors.js';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { CORE_BOOT_TIMEOUT, image, NEEDS_VSOCK, useWorkDir, WITHOUT_VSOCK } from './helpers.js';

const workDir = useWorkDir('vmspawn-data-');
const KiB = 1024;
const MiB = 1024 * KiB;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Writes a file of exactly `bytes` printable bytes in the guest and returns its SHA-256. */
async function guestFile(vm: StartedMachine, path: string, bytes: number): Promise<string> {
  const { stdout } = await vm.exec(`head -c ${bytes} /dev/urandom | base64 -w 76 | head -c ${bytes} > ${path}; sha256sum < ${path}`);
  return stdout.split(' ')[0]!;
}

describe('the data path of a booted machine', () => {
  let vm: StartedMachine;

  beforeAll(async () => {
    const { initramfs } = await image();
    vm = await new Machine({
      ...initramfs,
      bootTimeout: CORE_BOOT_TIMEOUT,
      name: 'data-path',
      artifactsDir: join(workDir(), 'artifacts'),
      setCredential: {
        // 64 MiB into the guest, checksummed there; 64 MiB out of the guest.
        'systemd.extra-unit.sink.socket': '[Socket]\nListenStream=vsock::5001\nAccept=yes\n',
        'systemd.extra-unit.sink@.service': "[Service]\nExecStart=/bin/sh -c 'head -c 67108864 | sha256sum > /run/sink.sum'\nStandardInput=socket\nStandardOutput=journal\n",
        'systemd.extra-unit.source.socket': '[Socket]\nListenStream=vsock::5002\nAccept=yes\n',
        'systemd.extra-unit.source@.service': '[Service]\nExecStart=/usr/bin/cat /run/source.bin\nStandardInput=socket\n',
      },
    }).start();
  });

  afterAll(async () => {
    await vm?.stop();
  });

  test.each([0, 1 * KiB, 64 * KiB, 1 * MiB, 64 * MiB])('exec stdout and stderr of %d bytes arrive complete', async (bytes) => {
    const expected = await guestFile(vm, '/tmp/out', bytes);
    const started = performance.now();
    const result = await vm.exec('cat /tmp/out; cat /tmp/out >&2', { stripFinalNewline: false });
    const seconds = (performance.now() - started) / 1000;
    expect(result.stdout.length).toBe(bytes);
    expect(result.stderr.length).toBe(bytes);
    expect(sha256(result.stdout)).toBe(expected);
    expect(sha256(result.stderr)).toBe(expected);
    if (bytes >= MiB) console.log(`exec: ${(2 * bytes) / MiB} MiB of stdout and stderr in ${seconds.toFixed(1)} s, ${((2 * bytes) / MiB / seconds).toFixed(1)} MiB/s`);
  });

  test('20 commands at once, 1 MiB of output each, arrive complete; more than sshd allows per connection', async () => {
    const expected = await guestFile(vm, '/tmp/one-mib', MiB);
    const results = await Promise.all(Array.from({ length: 20 }, (_, index) => vm.exec(`cat /tmp/one-mib; echo ${index}`)));
    results.forEach((result, index) => {
      expect(result.stdout.slice(MiB)).toBe(String(index));
      expect(sha256(result.stdout.slice(0, MiB))).toBe(expected);
    });
    // sshd allows 10 sessions per connection: the rest ran on a second connection.
    expect(await readFile(join(vm.artifactsDir, 'vmspawn.log'), 'utf8')).toMatch(/ssh: opened connection 2 \(1 connection\(s\) busy\)/);
    await expect(vm.exec('echo usable')).resolves.toMatchObject({ stdout: 'usable' });
  });

  test('connect() carries 64 MiB into the guest and 64 MiB out of it, complete', async (context) => {
    context.skip(WITHOUT_VSOCK, NEEDS_VSOCK);
    // One way at a time: a guest echo under load can make vhost-device-vsock send the guest many
    // tiny packets, which Linux >= 6.12.94 answers with a reset (see the README).
    await vm.exec('systemctl start sink.socket source.socket');
    const payload = randomBytes(64 * MiB);
    let started = performance.now();
    const into = await vm.connect(5001);
    await writeAll(into, payload);
    await expect.poll(async () => (await vm.exec('cat /run/sink.sum', { reject: false })).stdout, { timeout: 120_000, interval: 500 }).toMatch(/^[0-9a-f]{64}/);
    const intoSeconds = (performance.now() - started) / 1000;
    into.destroy();
    expect((await vm.exec('cat /run/sink.sum')).stdout.split(' ')[0]).toBe(sha256(payload));

    const expected = (await vm.exec('head -c 67108864 /dev/urandom > /run/source.bin; sha256sum < /run/source.bin')).stdout.split(' ')[0];
    started = performance.now();
    const out = await vm.connect(5002);
    const { bytes, digest } = await readAll(out, 64 * MiB);
    const outSeconds = (performance.now() - started) / 1000;
    out.destroy();
    expect(bytes).toBe(64 * MiB);
    expect(digest).toBe(expected);
    console.log(`connect(): 64 MiB into the guest in ${intoSeconds.toFixed(1)} s, 64 MiB out in ${outSeconds.toFixed(1)} s`);
  });

  test('a lost SSH connection fails the commands it carried as lost, and the next command connects again', async () => {
    const running = vm.exec('sleep 60');
    // Kill the guest's sshd processes (one per connection) from inside: this command dies with them.
    const killer = vm.exec('sleep 1; for comm in $(grep -lxE "sshd(-session)?" /proc/[0-9]*/comm); do pid=${comm#/proc/}; kill -KILL "${pid%/comm}"; done');
    for (const command of [running, killer]) {
      const error = await command.catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(ExecConnectionLostError);
      expect(error).toMatchObject({ reason: 'connection-lost' });
      expect((error as Error).message).toMatch(/SSH connection to the guest was lost while it ran/);
    }
    await expect(vm.exec('echo reconnected')).resolves.toMatchObject({ stdout: 'reconnected' });
    const log = await readFile(join(vm.artifactsDir, 'vmspawn.log'), 'utf8');
    expect(log).toMatch(/ssh: a connection to the guest was lost with \d+ command\(s\) running/);
    expect(log).toMatch(/ssh: opened connection 1 \(the previous one was lost\)/);
  });
});

/** Writes `data`, waiting for the stream to drain; rejects when the stream fails or closes first. */
async function writeAll(stream: Duplex, data: Buffer): Promise<void> {
  const failed = new Promise<never>((_, reject) => {
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('the stream closed before all data was written')));
  });
  failed.catch(() => undefined);
  for (let offset = 0; offset < data.length; offset += MiB) {
    if (!stream.write(data.subarray(offset, offset + MiB))) await Promise.race([new Promise((resolve) => stream.once('drain', resolve)), failed]);
  }
}

/** Reads `expected` bytes (the guest cannot half-close through vhost-device-vsock 0.3), hashing them. */
function readAll(stream: Duplex, expected: number): Promise<{ bytes: number; digest: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes >= expected) resolve({ bytes, digest: hash.digest('hex') });
    });
    stream.once('error', reject);
    stream.once('close', () => reject(new Error(`the stream closed after ${bytes} of ${expected} bytes`)));
  });
}
