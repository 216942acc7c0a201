/**
 * An OS tree booted from a host directory over virtiofs, with shared folders: the default image's
 * root, unpacked. The first boot is ephemeral with a writable and a read-only bind; the second
 * finds its kernel through a Boot Loader Specification entry and writes to the tree; the third shows
 * what that write does to SSH on the next boot; the last finds a UKI (the UEFI image's) and boots it
 * through UEFI firmware.
 */
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { image, machineProcesses, processesMentioning, runtimeDirOf, uefi, useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-directory-');
const tree = () => join(workDir(), 'tree');

/** Every entry of a tree: path, type, owner, mode, size, mtime, link target and content hash. */
async function fingerprint(root: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const info = await lstat(path);
      hash.update(`${path}\0${info.mode}\0${info.uid}:${info.gid}\0${info.size}\0${info.mtimeMs}\0`);
      if (info.isSymbolicLink()) hash.update(await readlink(path));
      else if (info.isFile()) hash.update(await readFile(path));
      else if (info.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return hash.digest('hex');
}

/** What still lives of a machine after it stopped: its processes and mounts of its runtime directory. */
async function leftovers(vm: StartedMachine, runtimeDir: string): Promise<{ processes: number[]; mounts: string[] }> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => line.includes(runtimeDir));
  return { processes: [...machineProcesses(vm.summary), ...processesMentioning(runtimeDir)], mounts };
}

beforeAll(async () => {
  const { directory } = await image();
  await mkdir(tree());
  await execa('sh', ['-c', `zstd -dc "$1" | cpio -idm --quiet --no-absolute-filenames`, 'sh', join(directory, 'rootfs.cpio.zst')], { cwd: tree() });
  // A Type #1 entry, as kernel-install would write it; its options are not used (the root is the share).
  await copyFile(join(directory, 'vmlinuz'), join(tree(), 'boot', 'vmlinuz-test'));
  await mkdir(join(tree(), 'boot', 'loader', 'entries'), { recursive: true });
  await writeFile(join(tree(), 'boot', 'loader', 'entries', 'x.conf'), 'title Test\nversion 1\nlinux /vmlinuz-test\noptions root=/dev/nonexistent ro\n');
});

describe('directory over virtiofs', () => {
  test('ephemeral: the guest boots and writes, the tree stays as it was; binds share both ways, read-only is enforced', async () => {
    const { initramfs } = await image();
    const rw = join(workDir(), 'rw');
    const ro = join(workDir(), 'ro');
    await mkdir(rw);
    await mkdir(ro);
    await writeFile(join(rw, 'from-host'), 'host\n');
    await writeFile(join(ro, 'data.txt'), 'read me\n');
    const before = await fingerprint(tree());
    const roBefore = await fingerprint(ro);

    const vm = await new Machine({
      directory: tree(),
      linux: initramfs.linux,
      kernelArgs: initramfs.kernelArgs,
      bind: [`${rw}:/mnt/rw`],
      bindReadOnly: [`${ro}:/mnt/ro`],
      artifactsDir: join(workDir(), 'art-ephemeral'),
    }).start();
    const runtimeDir = runtimeDirOf(vm.summary.processes.qemu!)!;
    expect(Object.keys(vm.summary.processes)).toEqual(expect.arrayContaining(['virtiofsd-root', 'virtiofsd-bind0', 'virtiofsd-bind1']));

    const mounts = await vm.exec('for target in / /mnt/rw /mnt/ro; do findmnt -n -o TARGET,SOURCE,FSTYPE,OPTIONS --mountpoint $target; done');
    const [root, rwMount, roMount] = mounts.stdout.split('\n').map((line) => line.split(/\s+/));
    expect(root?.slice(0, 3)).toEqual(['/', 'root', 'virtiofs']);
    expect(rwMount?.slice(0, 3)).toEqual(['/mnt/rw', 'bind0', 'virtiofs']);
    expect(roMount?.slice(0, 3)).toEqual(['/mnt/ro', 'bind1', 'virtiofs']);
    expect(roMount?.[3]?.split(',')).toContain('ro');

    // Writes to the root: a new file, a changed file, a deleted file.
    await vm.exec('echo guest > /root/written-in-guest && echo more >> /etc/os-release && rm /etc/issue && sync');
    await vm.exec(['logger', '-t', 'virtiofs-test', 'hello from a directory']);
    expect((await vm.waitForJournal({ identifier: 'virtiofs-test' })).message).toBe('hello from a directory');

    const rwResult = await vm.exec('cat /mnt/rw/from-host && echo guest > /mnt/rw/from-guest && sync');
    expect(rwResult.stdout).toBe('host');
    expect(await readFile(join(rw, 'from-guest'), 'utf8')).toBe('guest\n');

    expect((await vm.exec('cat /mnt/ro/data.txt')).stdout).toBe('read me');
    const write = await vm.exec('echo x > /mnt/ro/x', { reject: false });
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toContain('Read-only file system');
    // The guest may lift its own read-only flag; the host still refuses the write.
    const remounted = await vm.exec('mount -o remount,rw /mnt/ro; findmnt -n -o OPTIONS /mnt/ro; echo x > /mnt/ro/x', { reject: false });
    expect(remounted.exitCode).not.toBe(0);
    expect(remounted.stderr).toContain('Read-only file system');

    expect(await vm.shutdown()).toBe(0);
    expect(await fingerprint(tree())).toBe(before);
    expect(await fingerprint(ro)).toBe(roBefore);
    expect(await leftovers(vm, runtimeDir)).toEqual({ processes: [], mounts: [] });
    expect(existsSync(runtimeDir)).toBe(false);
    const artifacts = join(workDir(), 'art-ephemeral');
    expect(await readFile(join(artifacts, 'vmspawn.log'), 'utf8')).toContain(`virtiofs root: ${tree()} → guest / (ephemeral`);
    expect(existsSync(join(artifacts, 'virtiofsd-root.log'))).toBe(true);
    expect(existsSync(join(artifacts, 'virtiofsd-bind1.log'))).toBe(true);
  });

  test('the kernel from a Type #1 boot entry; ephemeral: false writes to the tree', async () => {
    const { initramfs } = await image();
    const artifacts = join(workDir(), 'art-entry');
    const vm = await new Machine({ directory: tree(), ephemeral: false, kernelArgs: initramfs.kernelArgs, artifactsDir: artifacts }).start();
    const runtimeDir = runtimeDirOf(vm.summary.processes.qemu!)!;

    const cmdline = (await vm.exec('cat /proc/cmdline')).stdout;
    expect(cmdline).toContain('root=root rootfstype=virtiofs rw');
    expect(cmdline).not.toContain('/dev/nonexistent');
    await vm.exec('echo kept > /root/kept-in-tree && sync');
    // Should the exit status be missing, the machine's log says how the machine ended.
    expect(await vm.shutdown(), await readFile(join(artifacts, 'vmspawn.log'), 'utf8')).toBe(0);

    expect(await readFile(join(tree(), 'root', 'kept-in-tree'), 'utf8')).toBe('kept\n');
    expect(await readFile(join(artifacts, 'vmspawn.log'), 'utf8')).toContain(`kernel from boot entry /boot/loader/entries/x.conf: ${join(tree(), 'boot', 'vmlinuz-test')}`);
    expect(await leftovers(vm, runtimeDir)).toEqual({ processes: [], mounts: [] });
  });

  test("a tree booted writable before keeps that boot's authorized_keys: the refused key fails the boot fast, saying why", async () => {
    // systemd writes ssh.authorized_keys.root only where /root/.ssh/authorized_keys is missing, and the
    // writable boot above left one with its own, now forgotten, key.
    expect(existsSync(join(tree(), 'root', '.ssh', 'authorized_keys'))).toBe(true);
    const { initramfs } = await image();
    const started = Date.now();
    const failure = await new Machine({ directory: tree(), kernelArgs: initramfs.kernelArgs, artifactsDir: join(workDir(), 'art-refused') })
      .start()
      .then(() => new Error('started'), (error: Error) => error);
    expect(failure.message).toMatch(/^The guest's sshd refused the engine's key: .*\/root\/\.ssh\/authorized_keys/);
    // Refusals count as final 15 s after the first one, long before bootTimeout.
    expect(Date.now() - started).toBeLessThan(110_000);
  });

  test('a tree whose boot entry is a UKI boots through UEFI firmware, its root still the share', async () => {
    const { uki } = await uefi();
    // The remedy the test above was told.
    await rm(join(tree(), 'root', '.ssh', 'authorized_keys'));
    // As a mkosi-built tree has it: a UKI in /boot/EFI/Linux and no kernel elsewhere.
    await rm(join(tree(), 'boot', 'loader'), { recursive: true });
    await mkdir(join(tree(), 'boot', 'EFI', 'Linux'), { recursive: true });
    await copyFile(uki, join(tree(), 'boot', 'EFI', 'Linux', 'debian.efi'));
    const artifacts = join(workDir(), 'art-uki');
    // UEFI firmware, a UKI and a virtiofs root: about 85 s under TCG alone, more beside other guests.
    const vm = await new Machine({ directory: tree(), artifactsDir: artifacts, bootTimeout: 300_000 }).start();
    try {
      expect(vm.summary.boot).toMatchObject({ path: 'uefi-uki' });
      // The root arguments reached the UKI's own command line through systemd-stub.
      expect((await vm.exec('cat /proc/cmdline')).stdout).toMatch(/ root=root rootfstype=virtiofs rw$/);
      expect((await vm.exec(['findmnt', '-n', '-o', 'FSTYPE', '/'])).stdout).toBe('virtiofs');
    } finally {
      expect(await vm.shutdown(), await readFile(join(artifacts, 'vmspawn.log'), 'utf8')).toBe(0);
    }
    expect(await readFile(join(artifacts, 'vmspawn.log'), 'utf8')).toContain('kernel from boot entry /boot/EFI/Linux/debian.efi');
  }, 480_000);
});
