import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { chooseAccelerator } from '../../src/host/accelerator.js';
import { Machine } from '../../src/machine/machine.js';

vi.mock('../../src/host/accelerator.js', () => ({
  chooseAccelerator: vi.fn(async () => {
    throw new Error('the KVM probe must not run for options that are wrong');
  }),
}));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vitest-vmspawn-boot-order-test-'));
  await writeFile(join(dir, 'vmlinuz'), 'kernel');
  // Stands in for QEMU where QEMU is not the point, answering --version as QEMU does.
  await writeFile(join(dir, 'qemu'), '#!/bin/sh\necho "QEMU emulator version 7.2.22"\n', { mode: 0o755 });
});
const boot = () => ({ linux: join(dir, 'vmlinuz'), qemuBinary: join(dir, 'qemu') });
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('validate fully, then probe', () => {
  test.each([
    ['a qemuBinary that is not QEMU', { qemuBinary: '/bin/true' }, 'qemuBinary'],
    ['a qemuBinary that is a directory', { qemuBinary: '/usr/bin' }, 'qemuBinary'],
    ['an artifactsDir under /proc', { artifactsDir: '/proc/vmspawn-artifacts' }, 'artifactsDir'],
    ['more memory than the host has', { ram: '64T' }, 'ram'],
    ['a missing credential file', { loadCredential: { x: '/nonexistent/credential' } }, 'loadCredential.x'],
  ])('%s fails before the KVM probe, naming the option', async (_, options, option) => {
    const error = await new Machine({ ...boot(), ...options })
      .start()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).problems.map((problem) => problem.option)).toEqual([option]);
    expect(chooseAccelerator).not.toHaveBeenCalled();
  });

  test('an artifactsDir that is a file is refused before the probe, and the file is left alone', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'keep');
    await expect(new Machine({ ...boot(), artifactsDir: file }).start()).rejects.toThrow(/artifactsDir: .*not-a-dir exists and is not a directory/);
    expect(chooseAccelerator).not.toHaveBeenCalled();
  });
});
