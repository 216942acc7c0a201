/**
 * Disk images, raw and qcow2: the guest boots from them and writes, but only to a throwaway
 * overlay; the image file itself never changes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { image, useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-disk-');

/** Hash of the first 64 MiB, where mounting and writing an ext4 file system leaves its marks, plus size and mtime. */
async function fingerprint(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: 64 * 1024 ** 2 - 1 })) hash.update(chunk as Buffer);
  const { size, mtimeMs } = await stat(path);
  return `${hash.digest('hex')} ${size} ${mtimeMs}`;
}

describe.each(['raw', 'qcow2'] as const)('a %s disk image', (format) => {
  test('boots, takes writes, and is left unchanged', async () => {
    const { disk } = await image();
    let path = disk.image!;
    if (format === 'qcow2') {
      path = join(workDir(), 'root.qcow2');
      await execa('qemu-img', ['convert', '-O', 'qcow2', disk.image!, path]);
    }
    const before = await fingerprint(path);

    const vm = await new Machine({ ...disk, image: path, artifactsDir: join(workDir(), `art-${format}`) }).start();
    const { stdout } = await vm.exec('findmnt -n -o SOURCE,FSTYPE /; echo written > /root/written-by-test; sync; cat /root/written-by-test');
    expect(stdout).toBe('/dev/vda ext4\nwritten');
    expect(await vm.shutdown()).toBe(0);
    expect(await fingerprint(path)).toBe(before);

    if (format === 'raw') return;
    // A new machine on the same image starts from the image, not from the last run.
    const again = await new Machine({ ...disk, image: path, artifactsDir: join(workDir(), `art-${format}-again`) }).start();
    await expect(again.exec('test -e /root/written-by-test', { reject: false })).resolves.toMatchObject({ exitCode: 1 });
    await again.stop();
  });
});
