import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import * as realFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { parseSwapTotal } from '../../src/host/host-memory.js';
import { checkArtifactsDir, kernelFileSystemProblem } from '../../src/options/check-artifacts-dir.js';
import { checkImageFormat, credentialFileSizes } from '../../src/options/check-paths.js';
import { checkQemuBinary } from '../../src/options/check-qemu-binary.js';
import { checkRamFitsHost } from '../../src/options/check-ram.js';
import { preflight } from '../../src/options/preflight.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { describeBytes } from '../../src/options/size.js';

// Writes below a directory named "simulated-read-only" fail as on a read-only mount.
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof realFs>();
  const readOnly = (path: unknown) => String(path).includes('/simulated-read-only/');
  const hangs = (path: unknown) => String(path).includes('/simulated-hang/');
  const erofs = () => Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
  const writeFile = (async (path, ...rest) => {
    if (readOnly(path)) throw erofs();
    if (hangs(path)) return new Promise<never>(() => {});
    return fs.writeFile(path, ...rest);
  }) as typeof fs.writeFile;
  return { ...fs, writeFile };
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vitest-vmspawn-preflight-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('artifactsDir', () => {
  test('a missing directory is created, level by level, and left without probe files', async () => {
    const target = join(dir, 'a', 'b', 'c');
    await expect(checkArtifactsDir(target)).resolves.toBeUndefined();
    expect(await readdir(target)).toEqual([]);
  });

  test('an existing file is refused', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await expect(checkArtifactsDir(file)).resolves.toEqual({
      option: 'artifactsDir',
      message: `${file} exists and is not a directory: choose a directory (it is created if missing)`,
    });
    await expect(checkArtifactsDir(join(file, 'sub'))).resolves.toMatchObject({ message: `${file} is a file, so ${join(file, 'sub')} cannot be created under it` });
  });

  test.each(['/proc/vmspawn-artifacts', '/sys/x', '/dev/shm/../x', '/proc'])('%s (a kernel file system) is refused without touching it', async (path) => {
    const problem = await checkArtifactsDir(path);
    expect(problem?.option).toBe('artifactsDir');
    expect(problem?.message).toMatch(/is inside \/(proc|sys|dev), a kernel file system that cannot hold files: choose a directory on a disk/);
  });

  test('a symbolic link into /proc is refused too', async () => {
    const link = join(dir, 'to-proc');
    await symlink('/proc', link);
    const problem = await checkArtifactsDir(join(link, 'artifacts'));
    expect(problem?.message).toMatch(/leads into \/proc \(through a symbolic link\)/);
  });

  test('a directory on a read-only file system is refused, naming the option', async () => {
    const readOnly = join(dir, 'simulated-read-only');
    await mkdir(readOnly);
    await expect(checkArtifactsDir(readOnly)).resolves.toEqual({
      option: 'artifactsDir',
      message: `${readOnly} cannot take files: it is on a read-only file system; choose a writable directory`,
    });
  });

  test('the check is bounded in time', async () => {
    const problem = await checkArtifactsDir(join(dir, 'simulated-hang'), { timeoutMs: 50 });
    expect(problem?.message).toMatch(/did not finish within 0.05 s \(an unresponsive network file system\?\): choose a local directory$/);
  });

  test('an aborted signal ends the check', async () => {
    await expect(checkArtifactsDir(join(dir, 'aborted'), { signal: AbortSignal.abort(new Error('test over')) })).rejects.toThrow('test over');
  });

  test('kernel file systems are recognised without the file system', () => {
    expect(kernelFileSystemProblem('/proc/1/x')?.message).toMatch(/inside \/proc/);
    expect(kernelFileSystemProblem('/process/x')).toBeUndefined();
    expect(kernelFileSystemProblem('/devices')).toBeUndefined();
    expect(kernelFileSystemProblem('/dev/shm/artifacts')).toBeUndefined();
  });
});

describe('qemuBinary', () => {
  const fakeQemu = () => join(dir, 'fake-qemu');
  beforeAll(async () => {
    await writeFile(fakeQemu(), '#!/bin/sh\necho "QEMU emulator version 7.2.22"\n', { mode: 0o755 });
    await writeFile(join(dir, 'not-executable'), '#!/bin/sh\n', { mode: 0o644 });
  });

  test('a directory is not a program', async () => {
    await expect(checkQemuBinary('/usr/bin/')).resolves.toEqual({
      problem: { option: 'qemuBinary', message: "/usr/bin/ is a directory, not a program: name QEMU's system emulator inside it, e.g. /usr/bin/qemu-system-x86_64" },
    });
  });

  test('a file without execute permission', async () => {
    const path = join(dir, 'not-executable');
    await expect(checkQemuBinary(path)).resolves.toEqual({
      problem: { option: 'qemuBinary', message: `${path} is not executable (mode 0644): make it executable (chmod +x) or name another binary` },
    });
  });

  test('a path that does not exist, a name not on PATH', async () => {
    await expect(checkQemuBinary(join(dir, 'nothing'))).resolves.toEqual({ problem: { option: 'qemuBinary', message: `${join(dir, 'nothing')} does not exist` } });
    await expect(checkQemuBinary('qemu-system-nothing')).resolves.toMatchObject({ problem: { message: expect.stringMatching(/^qemu-system-nothing was not found on PATH/) } });
  });

  test('a program that is not QEMU', async () => {
    const result = await checkQemuBinary('/bin/true');
    expect(result).toHaveProperty('problem.message', expect.stringMatching(/^\/bin\/true is not QEMU: "\/bin\/true --version" printed .*; expected "QEMU emulator version …"/));
  });

  test("QEMU is recognised by its version banner, asked once per binary", async () => {
    await expect(checkQemuBinary(fakeQemu())).resolves.toEqual({ path: fakeQemu() });
    // Now it would fail; the cached answer stands for this process.
    await chmod(fakeQemu(), 0o755);
    await writeFile(fakeQemu(), '#!/bin/sh\necho nope\n');
    await expect(checkQemuBinary(fakeQemu())).resolves.toEqual({ path: fakeQemu() });
  });
});

describe('ram against the host', () => {
  const host = { ramBytes: 24 * 1024 ** 3, swapBytes: 0 };

  test('more than RAM and swap is refused with the host figures', () => {
    expect(checkRamFitsHost(64 * 1024 ** 4, host)).toEqual({
      option: 'ram',
      message: "64T is more than this host has (24 GiB of memory and no swap): give the guest less, e.g. '1G'",
    });
    expect(checkRamFitsHost(30 * 1024 ** 3, { ramBytes: 24 * 1024 ** 3, swapBytes: 8 * 1024 ** 3 })).toBeUndefined();
    expect(checkRamFitsHost(1024 ** 3, host)).toBeUndefined();
  });

  test('swap is read from /proc/meminfo', () => {
    expect(parseSwapTotal('MemTotal:       24683752 kB\nSwapTotal:       2097148 kB\nSwapFree: 1 kB\n')).toBe(2097148 * 1024);
    expect(parseSwapTotal('')).toBe(0);
  });

  test('byte counts for people', () => {
    expect(describeBytes(812)).toBe('812 bytes');
    expect(describeBytes(1536 * 1024)).toBe('1.5 MiB');
    expect(describeBytes(24 * 1024 ** 3)).toBe('24 GiB');
  });
});

describe('disk image format', () => {
  const qcow2 = () => join(dir, 'disk.qcow2');
  const raw = () => join(dir, 'disk.raw');
  beforeAll(async () => {
    await writeFile(qcow2(), Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(508)]));
    await writeFile(raw(), Buffer.alloc(512));
  });

  test("'auto' reads the format from the file", async () => {
    await expect(checkImageFormat(qcow2(), 'auto')).resolves.toEqual({ format: 'qcow2' });
    await expect(checkImageFormat(raw(), 'auto')).resolves.toEqual({ format: 'raw' });
  });

  test("'raw' for a qcow2 file is an error, and 'qcow2' for a raw one", async () => {
    await expect(checkImageFormat(qcow2(), 'raw')).resolves.toEqual({
      problem: { option: 'imageFormat', message: expect.stringMatching(/^is 'raw', but .*disk\.qcow2 is a qcow2 image \(it starts with the qcow2 magic "QFI\\xfb"\).*set imageFormat: 'qcow2' or 'auto'$/) },
    });
    await expect(checkImageFormat(raw(), 'qcow2')).resolves.toMatchObject({ problem: { option: 'imageFormat', message: expect.stringMatching(/^is 'qcow2', but .* is not a qcow2 image/) } });
    await expect(checkImageFormat(raw(), 'raw')).resolves.toEqual({ format: 'raw' });
  });

  test('credential files are measured', async () => {
    await expect(credentialFileSizes({ a: raw(), gone: join(dir, 'gone') })).resolves.toEqual({ a: 512 });
  });
});

describe('preflight', () => {
  const linux = () => join(dir, 'vmlinuz');
  beforeAll(async () => {
    await writeFile(linux(), 'kernel');
  });

  const problemsOf = async (options: object) => {
    const error = await preflight(resolveMachineOptions({ linux: linux(), qemuBinary: join(dir, 'fake-qemu'), ...options })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return (error as InvalidOptionsError).problems.map((problem) => problem.option);
  };

  test('lists every problem at once', async () => {
    const file = join(dir, 'artifacts-file');
    await writeFile(file, '');
    expect(await problemsOf({ ram: '64T', artifactsDir: file, image: join(dir, 'disk.qcow2'), imageFormat: 'raw', qemuBinary: '/bin/true' })).toEqual([
      'imageFormat',
      'artifactsDir',
      'qemuBinary',
      'ram',
    ]);
  });

  test('a loadCredential file larger than SMBIOS can carry is named', async () => {
    const big = join(dir, 'big.bin');
    await writeFile(big, Buffer.alloc(1536 * 1024));
    expect(await problemsOf({ loadCredential: { 'app.blob': big } })).toEqual(['loadCredential.app.blob']);
  });
});
