/**
 * The UEFI image (fixtures/uefi-image): its disk has the layout UEFI firmware, systemd-boot and the
 * gpt-auto generator expect, and its systemd initrd brings up the root partition. The guest here boots
 * the Type #1 entry's kernel and initrd directly (uefi.test.ts boots the disk through UEFI firmware); with
 * no systemd-boot there is no LoaderDevicePartUUID for gpt-auto, so root= names the partition instead.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import type { UefiImage } from '../../src/image/uefi-image.js';
import { Machine } from '../../src/machine/machine.js';
import { IMAGE_BUILD_TIMEOUT, uefi, useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-uefi-');
const ESP_TYPE = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
const ROOT_X86_64_TYPE = '4f68bce3-e8cd-4db1-96e7-fbcaf984b709';

describe('the UEFI image', () => {
  let image: UefiImage;
  beforeAll(async () => {
    image = await uefi();
  }, IMAGE_BUILD_TIMEOUT);

  /** A file on a FAT image, read with mtools. */
  async function fatFile(fat: string, path: string): Promise<string> {
    return (await execa('mtype', ['-i', fat, `::${path}`])).stdout;
  }

  test('has a GPT disk with systemd-boot, a Type #1 entry, a UKI and a discoverable root partition', async () => {
    const { partitiontable } = JSON.parse((await execa('sfdisk', ['--json', image.disk])).stdout) as {
      partitiontable: { label: string; partitions: Array<{ type: string; name: string; uuid: string }> };
    };
    expect(partitiontable.label).toBe('gpt');
    expect(partitiontable.partitions.map((p) => [p.type.toLowerCase(), p.name, p.uuid.toLowerCase()])).toEqual([
      [ESP_TYPE, 'esp', image.manifest.partitions.esp.partuuid],
      [ROOT_X86_64_TYPE, 'root', image.manifest.partitions.root.partuuid],
    ]);

    // mtools reads the ESP in place: FILE@@OFFSET.
    const esp = `${image.disk}@@${image.manifest.partitions.esp.startMiB}M`;
    const files = (await execa('mdir', ['-/', '-b', '-i', esp, '::/'])).stdout.split('\n');
    for (const file of ['EFI/BOOT/BOOTX64.EFI', 'EFI/systemd/systemd-bootx64.efi', 'EFI/Linux/debian.efi', 'debian/vmlinuz', 'debian/initrd.cpio.zst']) {
      expect(files).toContain(`::/${file}`);
    }
    expect(await fatFile(esp, '/loader/loader.conf')).toBe('timeout 0\ndefault debian.efi');
    const entry = await fatFile(esp, '/loader/entries/debian.conf');
    expect(entry).toMatch(/^linux +\/debian\/vmlinuz$/m);
    expect(entry).toMatch(/^initrd +\/debian\/initrd\.cpio\.zst$/m);
    const options = /^options +(.*)$/m.exec(entry)?.[1]?.split(' ') ?? [];
    expect(options).toEqual(expect.arrayContaining(['console=ttyS0', 'panic=-1', 'rw']));
    expect(options.filter((arg) => arg.startsWith('root='))).toEqual([]);

    // The UKI embeds the same command line in its .cmdline section.
    const uki = await readFile(image.uki);
    expect(uki.subarray(0, 2).toString('latin1')).toBe('MZ');
    expect(uki.includes('.cmdline')).toBe(true);
    expect(uki.includes(image.manifest.boot.cmdline)).toBe(true);

    // The Type #1 variant differs from the disk in loader.conf only.
    const espType1 = join(workDir(), 'esp-type1.img');
    const { startMiB, sizeMiB } = image.manifest.partitions.esp;
    await execa('qemu-img', ['dd', '-f', 'qcow2', '-O', 'raw', 'bs=1M', `skip=${startMiB}`, `count=${sizeMiB}`, `if=${image.diskType1}`, `of=${espType1}`]);
    expect(await fatFile(espType1, '/loader/loader.conf')).toBe('timeout 0\ndefault debian.conf');
    expect(await fatFile(espType1, '/loader/entries/debian.conf')).toBe(entry);
  });

  test('its systemd initrd mounts the root partition writable and switches to it; the root is an ordinary image', async () => {
    const vm = await new Machine({
      linux: image.kernel,
      initrd: [image.initrd],
      image: image.disk,
      kernelArgs: [...image.manifest.boot.cmdline.split(' '), `root=PARTUUID=${image.manifest.partitions.root.partuuid}`],
      artifactsDir: join(workDir(), 'artifacts'),
    }).start();
    const root = await vm.exec(['findmnt', '-n', '-o', 'SOURCE,FSTYPE,OPTIONS', '/']);
    expect(root.stdout).toMatch(/^\/dev\/vda2 ext4 rw,/);
    // PID 1 came from the initrd: it records when the initrd started.
    expect(Number((await vm.exec(['systemctl', 'show', '-P', 'InitRDTimestampMonotonic'])).stdout)).toBeGreaterThan(0);
    // The only host key is the pair the engine installed at boot: the image ships none.
    expect((await vm.exec('ls /etc/ssh/ssh_host_*')).stdout).toBe('/etc/ssh/ssh_host_ed25519_key\n/etc/ssh/ssh_host_ed25519_key.pub');
    const [publicHalf, fromPrivate] = await Promise.all(
      ['cat /etc/ssh/ssh_host_ed25519_key.pub', 'ssh-keygen -y -f /etc/ssh/ssh_host_ed25519_key'].map(async (command) =>
        (await vm.exec(command)).stdout.split(' ').slice(0, 2).join(' '),
      ),
    );
    expect(publicHalf).toBe(fromPrivate);
    // The TPM2 libraries systemd loads for systemd-creds --with-key=tpm2 (no TPM is attached here).
    const tpm = await vm.exec(['systemd-creds', 'has-tpm2'], { reject: false });
    expect(tpm.stdout).toMatch(/^\+libraries$/m);
    // The units the image keeps for UEFI boots are not disabled.
    expect((await vm.exec('ls /etc/systemd/system-generators')).stdout).not.toMatch(/gpt-auto|tpm2/);
    expect(await vm.shutdown()).toBe(0);
  });
});
