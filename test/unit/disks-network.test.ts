import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { checkDisks, virtualSize } from '../../src/options/check-disks.js';
import { hasNetAdmin } from '../../src/options/check-network.js';
import { ENGINE_CREDENTIALS_BYTES } from '../../src/options/smbios-capacity.js';
import { smbiosCredential } from '../../src/plan/credentials.js';
import { generateMachineKeys } from '../../src/ssh/keys.js';
import { preflight } from '../../src/options/preflight.js';
import { defaultSerial } from '../../src/options/resolve-disks-network.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { machineLayout } from '../../src/plan/machine-layout.js';
import { macAddress, NETWORK_CONFIG_CREDENTIAL, NETWORK_DROPIN_CREDENTIAL } from '../../src/plan/network-plan.js';
import { planMachine } from '../../src/plan/plan-machine.js';
import { parseUsernetForwards } from '../../src/process/port-forwards.js';
import { resolveVmspawnConfig } from '../../src/vitest/config.js';

const boot = { linux: '/img/vmlinuz', initrd: '/img/root.cpio', uuid: '11111111-2222-3333-4444-555555555555' };
const layout = machineLayout('/run/vm-1', '/art/test-1');

function problemsOf(options: object): string[] {
  try {
    resolveMachineOptions({ ...boot, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return (error as InvalidOptionsError).problems.map((problem) => `${problem.option}: ${problem.message}`);
  }
  throw new Error('expected the options to be rejected');
}

function plan(options: object, formats: { image?: 'raw' | 'qcow2'; drives?: Array<'raw' | 'qcow2'> } = {}) {
  return planMachine({
    options: resolveMachineOptions({ ...boot, ...options }),
    accelerator: 'tcg',
    layout,
    ports: { notify: 40000, journal: 40001 },
    ssh: undefined,
    imageFormat: formats.image,
    extraDriveFormats: formats.drives,
    kernelKind: 'kernel',
    firmware: undefined,
    vsock: 'user-space',
    binaries: { vhostDeviceVsock: '/usr/bin/vhost-device-vsock' },
  });
}

const valuesOf = (args: string[], flag: string) => args.flatMap((arg, index) => (arg === flag ? [args[index + 1] ?? ''] : []));

/** The engine's credentials in a plan, decoded. */
function credentialsOf(machinePlan: ReturnType<typeof plan>): Record<string, string> {
  return Object.fromEntries(
    machinePlan.smbiosFiles.flatMap((file) =>
      'credential' in file.content && 'value' in file.content.credential
        ? [[file.content.credential.name, new TextDecoder().decode(file.content.credential.value)]]
        : [],
    ),
  );
}

describe('disk and network options', () => {
  test('defaults: no extra drives, discards passed on, no network', () => {
    expect(resolveMachineOptions(boot)).toMatchObject({ extraDrives: [], growImageBytes: undefined, discardDisk: true, network: 'none', portForwards: [] });
  });

  test('a drive given as a path is an ephemeral, writable drive whose serial is its file name', () => {
    const { extraDrives } = resolveMachineOptions({ ...boot, extraDrives: ['/srv/data.raw', { path: '/srv/b.qcow2', format: 'qcow2', readOnly: true, serial: 'b' }] });
    expect(extraDrives).toEqual([
      { path: '/srv/data.raw', format: 'auto', readOnly: false, ephemeral: true, serial: 'data.raw' },
      { path: '/srv/b.qcow2', format: 'qcow2', readOnly: true, ephemeral: true, serial: 'b' },
    ]);
  });

  test('a default serial is the file name with odd characters replaced, cut to the 20 bytes virtio-blk carries', () => {
    expect(defaultSerial('/srv/my disk (copy).img')).toBe('my_disk__copy_.img');
    expect(defaultSerial('/srv/a-rather-long-file-name.qcow2')).toBe('a-rather-long-file-n');
  });

  test('bad drives are named with their index', () => {
    expect(problemsOf({ extraDrives: ['/a.raw', { path: '/b.raw', format: 'vmdk' }, 42, { path: '' }] })).toEqual([
      "extraDrives.1.format: expected 'auto', 'raw' or 'qcow2'",
      "extraDrives.2: expected a path, or { path, format?: 'auto' | 'raw' | 'qcow2', readOnly?: boolean, ephemeral?: boolean, serial?: string }",
      'extraDrives.3.path: expected the path of a raw or qcow2 image or a block device, got an empty string',
    ]);
    expect(problemsOf({ extraDrives: [{ path: '/a.raw', readonly: true }] })).toEqual([
      expect.stringMatching(/^extraDrives\.0\.readonly: unknown option \(did you mean readOnly\?\)/),
    ]);
    expect(problemsOf({ extraDrives: [{ path: '/a.raw', serial: 'x'.repeat(21) }] })).toEqual([
      expect.stringMatching(/^extraDrives\.0\.serial: expected a serial of 1-20 letters/),
    ]);
  });

  test("a typo inside a drive in the plugin's defaults is named with the drive's own keys", () => {
    const error = (() => {
      try {
        resolveVmspawnConfig({ defaults: { extraDrives: [{ path: '/a.raw', ephemaral: false }] } }, '/project', (_root, path) => path);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).problems).toEqual([
      { option: 'defaults.extraDrives.0.ephemaral', message: 'unknown option (did you mean ephemeral?); known options: path, format, readOnly, ephemeral, serial' },
    ]);
  });

  test('two drives with the same serial are refused', () => {
    expect(problemsOf({ extraDrives: ['/one/disk.raw', '/two/disk.raw'] })).toEqual([
      'extraDrives[1]: has the serial "disk.raw" of extraDrives[0] (the file name, cut to 20 bytes, unless set): give one of them its own serial',
    ]);
  });

  test('growImage takes sizes like ram, rounded up to 4096 bytes, and needs an image', () => {
    expect(resolveMachineOptions({ ...boot, image: '/img/root.raw', growImage: '3G' }).growImageBytes).toBe(3 * 1024 ** 3);
    expect(resolveMachineOptions({ ...boot, image: '/img/root.raw', growImage: 5000 }).growImageBytes).toBe(8192);
    expect(problemsOf({ growImage: '3G' })).toEqual([
      'growImage: grows the root disk image, but no image is given: give image too, or drop growImage',
    ]);
    expect(problemsOf({ image: '/img/root.raw', growImage: '3X' })).toEqual([expect.stringMatching(/^growImage: expected a number of bytes .*got "3X"$/)]);
  });

  test("portForwards need network: 'user', each port once", () => {
    expect(resolveMachineOptions({ ...boot, network: 'user', portForwards: [80, { guest: 22, host: 2222 }] }).portForwards).toEqual([
      { guest: 80, host: 0 },
      { guest: 22, host: 2222 },
    ]);
    expect(problemsOf({ portForwards: [80] })).toEqual([
      `portForwards: forward host ports through QEMU's user-mode network, but network is "none": set network: 'user'`,
    ]);
    expect(problemsOf({ network: 'user', portForwards: [80, { guest: 80, host: 8080 }, { guest: 81, host: 8080 }] })).toEqual([
      'portForwards[1]: forwards guest port 80 a second time: forward each guest port once',
      'portForwards[2]: uses host port 8080 a second time: give each forward its own host port, or 0 for a free one',
    ]);
    expect(problemsOf({ network: 'user', portForwards: [0, { guest: 80, host: 70000 }, 'http'] })).toEqual([
      'portForwards.0.guest: expected a guest TCP port of at least 1',
      'portForwards.1.host: expected a host TCP port of at most 65535',
      'portForwards.2: expected a guest TCP port, or { guest: PORT, host?: PORT } (host 0 picks a free port)',
    ]);
  });

  test('network is none, user or a tap device by name', () => {
    expect(resolveMachineOptions({ ...boot, network: { tap: 'vt-test' } }).network).toEqual({ tap: 'vt-test' });
    expect(problemsOf({ network: 'bridge' })).toEqual(["network: expected 'none', 'user' or { tap: 'NAME' }"]);
    expect(problemsOf({ network: { tap: 'a-name-longer-than-15' } })).toEqual([expect.stringMatching(/^network(\.tap)?: expected/)]);
    expect(problemsOf({ discardDisk: 'yes' })).toEqual(['discardDisk: expected true (pass discards on) or false (ignore them)']);
  });
});

describe('disk plan', () => {
  test('each extra drive is a virtio disk with its serial at its own PCI slot after the root disk', () => {
    const machinePlan = plan(
      {
        image: '/img/root.raw',
        extraDrives: ['/srv/data.raw', { path: '/srv/ro.qcow2', readOnly: true }, { path: '/srv/rw,1.raw', ephemeral: false, serial: 'rw' }],
      },
      { image: 'raw', drives: ['raw', 'qcow2', 'raw'] },
    );
    const args = machinePlan.qemu.args;
    expect(valuesOf(args, '-drive')).toEqual([
      'if=none,id=root,file=/run/vm-1/root-overlay.qcow2,format=qcow2,discard=unmap,cache=unsafe',
      'if=none,id=extra0,file=/run/vm-1/extra-drive-0-overlay.qcow2,format=qcow2,discard=unmap,cache=unsafe',
      'if=none,id=extra1,file=/srv/ro.qcow2,format=qcow2,discard=unmap,readonly=on',
      'if=none,id=extra2,file=/srv/rw,,1.raw,format=raw,discard=unmap,cache=writeback',
    ]);
    expect(valuesOf(args, '-device').filter((device) => device.startsWith('virtio-blk-pci'))).toEqual([
      'virtio-blk-pci,drive=root,bootindex=1,addr=0x6',
      'virtio-blk-pci,drive=extra0,serial=data.raw,addr=0xa',
      'virtio-blk-pci,drive=extra1,serial=ro.qcow2,addr=0xb',
      'virtio-blk-pci,drive=extra2,serial=rw,addr=0xc',
    ]);
    // Only the ephemeral drive gets an overlay; the user's files are never written unless asked.
    expect(machinePlan.extraDriveOverlays).toEqual([{ base: '/srv/data.raw', baseFormat: 'raw', path: '/run/vm-1/extra-drive-0-overlay.qcow2' }]);
  });

  test('discardDisk: false ignores discards on every disk', () => {
    const args = plan({ image: '/img/root.raw', discardDisk: false, extraDrives: ['/srv/data.raw'] }, { image: 'raw', drives: ['raw'] }).qemu.args;
    expect(valuesOf(args, '-drive').map((drive) => /discard=(\w+)/.exec(drive)?.[1])).toEqual(['ignore', 'ignore']);
  });

  test('growImage grows the root overlay, never the image', () => {
    expect(plan({ image: '/img/root.raw', growImage: '3G' }, { image: 'raw' }).overlay).toEqual({
      base: '/img/root.raw',
      baseFormat: 'raw',
      path: '/run/vm-1/root-overlay.qcow2',
      sizeBytes: 3 * 1024 ** 3,
    });
    expect(plan({ image: '/img/root.raw' }, { image: 'raw' }).overlay).not.toHaveProperty('sizeBytes');
  });
});

describe('network plan', () => {
  test("'none' adds no network device and no credential", () => {
    const machinePlan = plan({});
    expect(valuesOf(machinePlan.qemu.args, '-netdev')).toEqual([]);
    expect(Object.keys(credentialsOf(machinePlan)).filter((name) => name.includes('network'))).toEqual([]);
  });

  test("'user' forwards host ports on 127.0.0.1 (0: QEMU picks one) to a virtio NIC with a stable MAC", () => {
    const { qemu } = plan({ network: 'user', portForwards: [8080, { guest: 22, host: 2222 }] });
    const mac = macAddress(boot.uuid);
    expect(mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(valuesOf(qemu.args, '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:0-:8080,hostfwd=tcp:127.0.0.1:2222-:22']);
    expect(valuesOf(qemu.args, '-device')).toContain(`virtio-net-pci,netdev=net0,mac=${mac},addr=0x9`);
  });

  test("'user' configures the guest statically through systemd-networkd, and the boot waits for it", () => {
    const credentials = credentialsOf(plan({ network: 'user' }));
    expect(credentials[NETWORK_CONFIG_CREDENTIAL]).toBe(
      `[Match]\nMACAddress=${macAddress(boot.uuid)}\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\nDNS=10.0.2.3\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`,
    );
    expect(credentials[NETWORK_DROPIN_CREDENTIAL]).toBe(
      '[Unit]\nWants=systemd-network-generator.service systemd-networkd.service systemd-networkd-wait-online.service\n',
    );
  });

  test('a tap device: no script, DHCP in the guest, and no wait for an address', () => {
    const machinePlan = plan({ network: { tap: 'vt-test' } });
    expect(valuesOf(machinePlan.qemu.args, '-netdev')).toEqual(['tap,id=net0,ifname=vt-test,script=no,downscript=no']);
    const credentials = credentialsOf(machinePlan);
    expect(credentials[NETWORK_CONFIG_CREDENTIAL]).toMatch(/\[Network\]\nDHCP=yes\n$/);
    expect(credentials[NETWORK_DROPIN_CREDENTIAL]).toBe('[Unit]\nWants=systemd-network-generator.service systemd-networkd.service\n');
  });

  test("the engine's credentials with a network still fit in what SMBIOS keeps for them", () => {
    const name = 'n'.repeat(63);
    for (const network of ['user', { tap: 't'.repeat(15) }] as const) {
      const machinePlan = planMachine({
        options: resolveMachineOptions({ ...boot, name, network }),
        accelerator: 'tcg',
        layout,
        ports: { notify: 999_999, journal: 1_000_000 },
        ssh: generateMachineKeys(name),
        imageFormat: undefined,
        kernelKind: 'kernel',
        firmware: undefined,
        vsock: 'user-space',
        binaries: { vhostDeviceVsock: '/usr/bin/vhost-device-vsock' },
      });
      const bytes = Object.entries(credentialsOf(machinePlan)).reduce(
        (sum, [credential, value]) => sum + Buffer.byteLength(smbiosCredential(credential, new TextEncoder().encode(value))) + 1,
        0,
      );
      expect(bytes).toBeLessThanOrEqual(ENGINE_CREDENTIALS_BYTES);
    }
  });

  test("the host ports QEMU bound, read from 'info usernet'", () => {
    const text = [
      'Hub -1 (net0):',
      '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ',
      '  TCP[HOST_FORWARD]   9       127.0.0.1 37781       10.0.2.15  8080     0     0',
      '  TCP[ESTABLISHED]   12       10.0.2.15 52934        10.0.2.2    80     0     0',
      '  TCP[HOST_FORWARD]   8       127.0.0.1  2222       10.0.2.15    22     0     0',
    ].join('\r\n');
    expect(parseUsernetForwards(text)).toEqual([
      { hostAddress: '127.0.0.1', host: 37781, guest: 8080 },
      { hostAddress: '127.0.0.1', host: 2222, guest: 22 },
    ]);
  });

  test('CAP_NET_ADMIN is read from the effective capabilities', async () => {
    await expect(hasNetAdmin('Name:\tnode\nCapEff:\t000001ffffffffff\n')).resolves.toBe(true);
    await expect(hasNetAdmin('Name:\tnode\nCapEff:\t0000000000000000\n')).resolves.toBe(false);
    await expect(hasNetAdmin('CapEff:\t0000000000001000\n')).resolves.toBe(true);
  });
});

describe('disk preflight', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitest-vmspawn-disks-test-'));
    await writeFile(file('vmlinuz'), 'kernel');
    await writeFile(file('root.raw'), Buffer.alloc(64 * 1024));
    await writeFile(file('data.raw'), Buffer.alloc(4096));
    // A qcow2 header: magic, version 3, no backing file, 16 cluster bits, virtual size 1 GiB.
    const header = Buffer.alloc(104);
    header.write('QFI\xfb', 0, 'latin1');
    header.writeUInt32BE(3, 4);
    header.writeUInt32BE(16, 20);
    header.writeBigUInt64BE(BigInt(1024 ** 3), 24);
    await writeFile(file('disk.qcow2'), header);
    await writeFile(file('fake-qemu'), '#!/bin/sh\necho "QEMU emulator version 7.2.0"\n');
    await chmod(file('fake-qemu'), 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const resolved = (options: object) => resolveMachineOptions({ linux: file('vmlinuz'), qemuBinary: file('fake-qemu'), ...options });

  test('the virtual size of a raw file is its size, of a qcow2 file the size in its header', async () => {
    await expect(virtualSize(file('root.raw'), 'raw')).resolves.toBe(64 * 1024);
    await expect(virtualSize(file('disk.qcow2'), 'qcow2')).resolves.toBe(1024 ** 3);
  });

  test('formats are read from the drives; a declared format must match, named by index', async () => {
    const options = resolved({ extraDrives: [file('data.raw'), file('disk.qcow2'), { path: file('data.raw'), format: 'qcow2', serial: 'x' }] });
    const result = await checkDisks(options, new Set(), undefined);
    expect(result.extraDriveFormats).toEqual(['raw', 'qcow2', undefined]);
    expect(result.problems).toEqual([
      { option: 'extraDrives[2].format', message: expect.stringMatching(/^is 'qcow2', but .*data\.raw does not start with the qcow2 magic .*set format: 'raw' or 'auto'$/) },
    ]);
  });

  test('growImage below the virtual size is refused; equal or above is fine', async () => {
    const small = await checkDisks(resolved({ image: file('disk.qcow2'), growImage: '512M' }), new Set(), 'qcow2');
    expect(small.problems).toEqual([
      {
        option: 'growImage',
        message: `512 MiB is smaller than the image ${file('disk.qcow2')} (1 GiB, 1073741824 bytes): growImage only grows; give at least 1073741824 bytes, or drop it`,
      },
    ]);
    await expect(checkDisks(resolved({ image: file('disk.qcow2'), growImage: '1G' }), new Set(), 'qcow2')).resolves.toMatchObject({ problems: [] });
    await expect(checkDisks(resolved({ image: file('root.raw'), growImage: '1M' }), new Set(), 'raw')).resolves.toMatchObject({ problems: [] });
  });

  test('preflight names missing and unreadable drives by index, before anything starts', async () => {
    const error = await preflight(resolved({ extraDrives: [file('data.raw'), file('missing.raw'), { path: dir, serial: 'dir' }] })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).problems).toEqual([
      { option: 'extraDrives[1]', message: `file not found: ${file('missing.raw')}` },
      { option: 'extraDrives[2]', message: `${dir} is not a file` },
    ]);
  });

  test('preflight returns each drive format for the plan', async () => {
    await expect(preflight(resolved({ extraDrives: [file('disk.qcow2'), file('data.raw')] }))).resolves.toMatchObject({
      extraDriveFormats: ['qcow2', 'raw'],
    });
  });
});
