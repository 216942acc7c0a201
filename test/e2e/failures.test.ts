/**
 * What goes wrong, fails clearly: bad options before anything is spawned; a panicking kernel, a boot
 * timeout and an aborted start with the console tail and the artifacts; never a process left behind.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { BootError, InvalidOptionsError } from '../../src/errors.js';
import { runtimeRoot } from '../../src/host/runtime-dir.js';
import { Machine } from '../../src/machine/machine.js';
import { liveManagedProcesses } from '../../src/process/managed-process.js';
import { image, processesMentioning, useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-failures-');

function runtimeDirs(): string[] {
  return existsSync(runtimeRoot()) ? readdirSync(runtimeRoot()) : [];
}

test('bad options fail before anything is spawned, naming each option', async () => {
  const before = runtimeDirs();
  const start = new Machine({ linux: join(workDir(), 'no-such-vmlinuz'), initrd: [join(workDir(), 'no-such-initrd')] }).start();
  await expect(start).rejects.toBeInstanceOf(InvalidOptionsError);
  await expect(start).rejects.toThrow(/linux: file not found: .*no-such-vmlinuz\n\s+- initrd: file not found/);
  expect(() => new Machine({ linux: '/x', cpus: -1, ram: '2X' })).toThrow(/cpus: expected at least 1 virtual CPU\n.*ram: expected a number of bytes/);
  expect(liveManagedProcesses()).toEqual([]);
  expect(runtimeDirs()).toEqual(before);
});

test('a kernel that cannot start init fails the boot quickly, with the panic and the artifacts', async () => {
  const { initramfs } = await image();
  const artifactsDir = join(workDir(), 'panic');
  const started = Date.now();
  const failure = await new Machine({ ...initramfs, kernelArgs: ['rdinit=/no/such/init'], artifactsDir, bootTimeout: 200_000 })
    .start()
    .catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(BootError);
  const { message, consoleTail } = failure as BootError;
  expect(message).toMatch(/QEMU exited during boot/);
  expect(consoleTail).toMatch(/Kernel panic/);
  expect(message).toContain(`Artifacts (console.log, qemu.log, notify.log, journal): ${artifactsDir}`);
  // panic=-1 and -no-reboot end the machine at once instead of waiting for bootTimeout.
  expect(Date.now() - started).toBeLessThan(200_000);
  expect(await readFile(join(artifactsDir, 'console.log'), 'utf8')).toMatch(/Kernel panic/);
  expect(JSON.parse(await readFile(join(artifactsDir, 'summary.json'), 'utf8'))).toMatchObject({ exit: { endedBy: 'boot-failure' } });
  expect(processesMentioning(artifactsDir)).toEqual([]);
});

test('a boot timeout kills the machine and reports the console tail', async () => {
  const { initramfs } = await image();
  const artifactsDir = join(workDir(), 'timeout');
  const failure = await new Machine({ ...initramfs, artifactsDir, bootTimeout: 8_000 }).start().catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(BootError);
  expect((failure as BootError).message).toMatch(/not ready within bootTimeout \(8000 ms\)/);
  expect((failure as BootError).consoleTail).toMatch(/Linux version|\[\s+\d+\.\d+\]/);
  expect(processesMentioning(artifactsDir)).toEqual([]);
  expect(liveManagedProcesses()).toEqual([]);
});

test('aborting start() stops the boot and the machine', async () => {
  const { initramfs } = await image();
  const artifactsDir = join(workDir(), 'abort');
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('test gave up')), 2_000);
  await expect(new Machine({ ...initramfs, artifactsDir }).start({ signal: controller.signal })).rejects.toThrow(/start\(\) was aborted: test gave up/);
  expect(processesMentioning(artifactsDir)).toEqual([]);
});
