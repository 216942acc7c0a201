/**
 * Kernel vsock (vsock: 'kernel'): QEMU's vhost-vsock-pci with socat bridging the host side. It
 * needs /dev/vhost-vsock that this user can open read-write and socat; on a host without them the
 * whole file is skipped, and says so. With them, two machines of the same name run at once: the
 * second meets the CID the first holds (both derive it from the name), so its start is retried with
 * another CID.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { findExecutable } from '../../src/host/tools.js';
import { probeVhostVsock } from '../../src/host/vsock-choice.js';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { cidFromMachineName } from '../../src/plan/vsock-cid.js';
import { image, isRunning, machineProcesses, useWorkDir } from './helpers.js';

const device = await probeVhostVsock();
const socat = await findExecutable('socat');
const missing = !device.usable ? device.detail : socat === undefined ? 'socat is not installed' : undefined;
const title = missing === undefined ? 'kernel vsock' : `kernel vsock (skipped: this host has no usable /dev/vhost-vsock or socat: ${missing})`;
// A skipped file shows no test names in the default reporter: say why on its own line.
if (missing !== undefined) console.info(`test/e2e/kernel-vsock.test.ts: ${title}`);

const workDir = useWorkDir('vmspawn-e2e-kernel-vsock-');
const NAME = 'e2e-kernel-vsock';

/** The PIDs of the socat processes a machine's vsock-socat.log names. */
async function socatPids(artifactsDir: string): Promise<number[]> {
  const log = await readFile(join(artifactsDir, 'vsock-socat.log'), 'utf8').catch(() => '');
  return [...new Set([...log.matchAll(/socat\[(\d+)\]/g)].map((match) => Number(match[1])))];
}

describe.skipIf(missing !== undefined)(title, () => {
  let first: StartedMachine;

  beforeAll(async () => {
    const { initramfs } = await image();
    first = await new Machine({ ...initramfs, name: NAME, vsock: 'kernel', artifactsDir: join(workDir(), 'first') }).start();
  });

  afterAll(async () => {
    await first?.shutdown();
  });

  test('the machine is ready over notify, and the log and summary name the transport and CID', async () => {
    expect(first.notify.ready).toBe(true);
    const summary = first.summary;
    expect(summary.vsock).toMatch(/^vsock: kernel /);
    expect(summary.vsockCid).toBe(cidFromMachineName(NAME));
    const log = await readFile(join(first.artifactsDir, 'vmspawn.log'), 'utf8');
    expect(log).toContain(`vsock: guest CID ${summary.vsockCid}`);
    expect(await readFile(join(first.artifactsDir, 'qemu-cmdline.txt'), 'utf8')).toContain(`vhost-vsock-pci,guest-cid=${summary.vsockCid}`);
  });

  test('SSH over kernel vsock carries a few MiB intact', async () => {
    await first.exec('head -c 3145728 /dev/urandom > /tmp/blob');
    const { stdout: encoded } = await first.exec('base64 -w0 /tmp/blob');
    const { stdout: guestSum } = await first.exec('sha256sum /tmp/blob');
    const bytes = Buffer.from(encoded, 'base64');
    expect(bytes.length).toBe(3 * 1024 * 1024);
    expect(guestSum.split(' ')[0]).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  test('the journal is forwarded over kernel vsock', async () => {
    await first.exec(['logger', '-t', 'kvsock', 'journal over kernel vsock']);
    await expect(first.waitForJournal({ identifier: 'kvsock', message: 'journal over kernel vsock' }, { timeout: 30_000 })).resolves.toBeDefined();
  });

  test('a vsockCid another machine holds fails the start, naming vsockCid', async () => {
    const { initramfs } = await image();
    const clash = new Machine({ ...initramfs, name: 'e2e-kernel-vsock-clash', vsock: 'kernel', vsockCid: first.summary.vsockCid, artifactsDir: join(workDir(), 'clash') });
    await expect(clash.start()).rejects.toThrow(/vsockCid: the guest CID \d+ is taken by another virtual machine/);
  });

  test('a second machine of the same name runs at the same time on another CID (its start retried)', async () => {
    const { initramfs } = await image();
    const second = await new Machine({ ...initramfs, name: NAME, vsock: 'kernel', artifactsDir: join(workDir(), 'second') }).start();
    try {
      expect(second.summary.vsockCid).not.toBe(first.summary.vsockCid);
      const log = await readFile(join(second.artifactsDir, 'vmspawn.log'), 'utf8');
      expect(log).toContain(`vsock: guest CID ${first.summary.vsockCid} is taken by another virtual machine; trying ${second.summary.vsockCid}`);
      const [a, b] = await Promise.all([first.exec('cat /etc/machine-id'), second.exec('cat /etc/machine-id')]);
      expect(a.stdout).not.toBe(b.stdout);
    } finally {
      await second.shutdown();
    }
  });

  test('after shutdown, no QEMU and no socat is left', async () => {
    const summary = first.summary;
    await first.shutdown();
    expect(machineProcesses(summary)).toEqual([]);
    const pids = await socatPids(first.artifactsDir);
    expect(pids.length).toBeGreaterThan(0);
    // The forked socats end with their connections, which end when QEMU does.
    await vi.waitFor(() => expect(pids.filter((pid) => isRunning(pid))).toEqual([]), { timeout: 10_000, interval: 100 });
  });
});
