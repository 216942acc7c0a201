import { describe, expect, test } from 'vitest';
import { layout, planWith, ssh, valuesOf } from './plan-fixtures.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { hostKeyTmpfilesLines, planCredentials, smbiosCredential } from '../../src/plan/credentials.js';
import {
  RATE_LIMIT_CONFIG,
  RATE_LIMIT_CONFIG_PATH,
  RATE_LIMIT_DROPIN_CREDENTIAL,
  RATE_LIMIT_TMPFILES_CREDENTIAL,
} from '../../src/plan/journald-rate-limit.js';
import { machineLayout } from '../../src/plan/machine-layout.js';
import { planMachine, type MachinePlanInput } from '../../src/plan/plan-machine.js';


function plan(options: Record<string, unknown>, overrides: Partial<MachinePlanInput> = {}) {
  return planWith({ initrd: '/img/root.cpio', ...options }, overrides);
}

function decodeCredential(text: string): [string, string] {
  const match = /^io\.systemd\.credential\.binary:([^=]+)=(.*)$/.exec(text);
  if (!match) throw new Error(`not a credential: ${text}`);
  return [match[1]!, Buffer.from(match[2]!, 'base64').toString()];
}

describe('QEMU command line', () => {
  test('direct kernel boot with the engine kernel arguments first', () => {
    const { qemu } = plan({ kernelArgs: ['quiet', 'systemd.log_level=debug'] });
    expect(valuesOf(qemu.args, '-kernel')).toEqual(['/img/vmlinuz']);
    expect(valuesOf(qemu.args, '-initrd')).toEqual(['/img/root.cpio']);
    expect(valuesOf(qemu.args, '-append')).toEqual(['console=ttyS0 panic=-1 quiet systemd.log_level=debug']);
  });

  test('cpus, ram and a shared memory backend for vhost-user', () => {
    const { qemu } = plan({ cpus: 3, ram: '1536M' });
    expect(valuesOf(qemu.args, '-smp')).toEqual(['3']);
    expect(valuesOf(qemu.args, '-m')).toEqual(['1536M']);
    expect(valuesOf(qemu.args, '-object')).toContain('memory-backend-memfd,id=mem,size=1536M,share=on');
  });

  test("TCG as QEMU defaults it; under KVM the host CPU with systemd-vmspawn's Hyper-V enlightenments and no HPET", () => {
    const tcg = plan({}).qemu.args;
    expect(valuesOf(tcg, '-accel')).toEqual(['tcg']);
    expect(valuesOf(tcg, '-cpu')).toEqual([]);
    expect(valuesOf(tcg, '-machine')).toEqual(['pc,memory-backend=mem']);
    const kvm = plan({}, { accelerator: 'kvm' }).qemu.args;
    expect(valuesOf(kvm, '-accel')).toEqual(['kvm']);
    expect(valuesOf(kvm, '-cpu')).toEqual(['host,hv-relaxed,hv-vapic,hv-time']);
    expect(valuesOf(kvm, '-machine')).toEqual(['pc,memory-backend=mem,hpet=off']);
  });

  test('every PCI device sits at a fixed PCI address', () => {
    const devices = valuesOf(plan({ image: '/img/disk.qcow2' }, { imageFormat: 'qcow2' }).qemu.args, '-device').filter((device) => device.includes('-pci'));
    expect(devices).toEqual([
      'virtio-rng-pci,rng=rng0,addr=0x3',
      'vhost-user-vsock-pci,chardev=vsock,id=vsock0,addr=0x4',
      'virtio-blk-pci,drive=root,bootindex=1,addr=0x6',
    ]);
  });

  test('always a virtio RNG, a QMP socket, and the console and firmware log written to the artifacts', () => {
    const { args } = plan({}).qemu;
    expect(valuesOf(args, '-object')).toContain('rng-random,id=rng0,filename=/dev/urandom');
    expect(valuesOf(args, '-chardev')).toEqual(
      expect.arrayContaining([
        'file,id=console,path=/art/test-1/console.log',
        'file,id=firmware,path=/art/test-1/firmware.log',
        'socket,id=qmp,path=/run/vm-1/qmp.sock,server=on,wait=off',
      ]),
    );
    expect(valuesOf(args, '-device')).toContain('isa-debugcon,iobase=0x402,chardev=firmware');
    expect(args).toContain('-no-reboot');
  });

  test('the disk image is opened through the overlay, never directly', () => {
    const result = plan({ image: '/img/disk.raw' }, { imageFormat: 'raw' });
    expect(result.overlay).toEqual({ base: '/img/disk.raw', baseFormat: 'raw', path: '/run/vm-1/root-overlay.qcow2' });
    const drives = valuesOf(result.qemu.args, '-drive');
    expect(drives).toEqual(['if=none,id=root,file=/run/vm-1/root-overlay.qcow2,format=qcow2,discard=unmap,cache=unsafe']);
    expect(result.qemu.args.join(' ')).not.toContain('/img/disk.raw');
  });

  test('several initrds are concatenated into one', () => {
    const result = plan({ initrd: ['/img/a.cpio', '/img/b.cpio'] });
    expect(result.initrdParts).toEqual(['/img/a.cpio', '/img/b.cpio']);
    expect(valuesOf(result.qemu.args, '-initrd')).toEqual(['/run/vm-1/initrd.img']);
  });

  test('commas in paths are escaped for QEMU', () => {
    const result = planMachine({ ...inputFor(), layout: machineLayout('/run/vm-1', '/art/a,b') });
    expect(valuesOf(result.qemu.args, '-chardev')).toContain('file,id=console,path=/art/a,,b/console.log');
  });

  test('the vsock daemon gets its own sockets in the runtime directory, and is the first helper started', () => {
    const planned = plan({});
    expect(planned.vsock.daemon).toEqual({
      name: 'vhost-device-vsock',
      binary: '/usr/bin/vhost-device-vsock',
      args: ['--guest-cid', '3', '--socket', '/run/vm-1/vhost-user-vsock.sock', '--uds-path', '/run/vm-1/vsock', '--tx-buffer-size', '30720'],
      logFile: '/art/test-1/vhost-device-vsock.log',
      readyPath: '/run/vm-1/vhost-user-vsock.sock',
    });
    expect(planned.helpers[0]).toBe(planned.vsock.daemon);
  });

  test('extra QEMU arguments come last', () => {
    expect(plan({ qemuArgs: ['-device', 'virtio-balloon-pci'] }).qemu.args.slice(-2)).toEqual(['-device', 'virtio-balloon-pci']);
  });
});

function inputFor(): MachinePlanInput {
  return {
    options: resolveMachineOptions({ linux: '/img/vmlinuz' }),
    accelerator: 'tcg',
    layout,
    ports: { notify: 1, journal: 2 },
    ssh: undefined,
    imageFormat: undefined,
    kernelKind: 'kernel',
    firmware: undefined,
    vsock: 'user-space',
    binaries: { vhostDeviceVsock: 'vhost-device-vsock' },
  };
}

describe('credentials', () => {
  test('travel in 0600 files, never on the command line', () => {
    const result = plan({ setCredential: { 'mytest.secret': 'swordfish' } });
    expect(result.qemu.args.join(' ')).not.toContain('swordfish');
    expect(result.qemu.args.join(' ')).not.toContain(Buffer.from('swordfish').toString('base64'));
    expect(valuesOf(result.qemu.args, '-smbios').every((value) => /^type=11,path=\/run\/vm-1\/credentials\/\d+\.smbios$/.test(value))).toBe(true);
    expect(valuesOf(result.qemu.args, '-smbios')).toHaveLength(result.smbiosFiles.length);
  });

  test('the engine passes readiness, journal, hostname and SSH credentials', () => {
    const options = resolveMachineOptions({ linux: '/k', name: 'web1', journalRateLimit: true });
    const byName = Object.fromEntries(
      planCredentials(options, { notify: 40000, journal: 40001 }, ssh).map((credential) => [
        credential.name,
        'value' in credential ? new TextDecoder().decode(credential.value) : credential.file,
      ]),
    );
    expect(byName).toEqual({
      'vmm.notify_socket': 'vsock-stream:2:40000',
      'journal.forward_to_socket': 'vsock:2:40001',
      'system.hostname': 'web1',
      'ssh.ephemeral-authorized_keys-all': 'ssh-ed25519 AAAAclient test\n',
      'ssh.authorized_keys.root': 'ssh-ed25519 AAAAclient test\n',
      'tmpfiles.extra': `${hostKeyTmpfilesLines(ssh)}\n`,
    });
  });

  test("the user's tmpfiles.extra and authorized keys are kept next to the engine's", () => {
    const options = resolveMachineOptions({
      linux: '/k',
      setCredential: { 'tmpfiles.extra': 'd /srv/data 0755 root root -', 'ssh.authorized_keys.root': 'ssh-ed25519 AAAAuser me' },
    });
    const credentials = planCredentials(options, { notify: 1, journal: 2 }, ssh);
    const value = (name: string) => {
      const found = credentials.find((credential) => credential.name === name);
      return found && 'value' in found ? new TextDecoder().decode(found.value) : undefined;
    };
    expect(value('tmpfiles.extra')).toBe(`d /srv/data 0755 root root -\n${hostKeyTmpfilesLines(ssh)}\n`);
    expect(value('ssh.authorized_keys.root')).toBe('ssh-ed25519 AAAAuser me\nssh-ed25519 AAAAclient test\n');
    expect(credentials.filter((credential) => credential.name === 'tmpfiles.extra')).toHaveLength(1);
  });

  test('without SSH, journal forwarding or a lifted rate limit their credentials are left out', () => {
    const options = resolveMachineOptions({ linux: '/k', ssh: false, forwardJournal: false, journalRateLimit: true });
    expect(planCredentials(options, { notify: 1, journal: 2 }, undefined).map((credential) => credential.name)).toEqual([
      'vmm.notify_socket',
      'system.hostname',
    ]);
  });

  test('loadCredential is read from its file when written', () => {
    const result = plan({ loadCredential: { 'app.config': '/etc/app.conf' } });
    expect(result.smbiosFiles.map((file) => file.content)).toContainEqual({ credential: { name: 'app.config', file: '/etc/app.conf' } });
  });

  test('raw smbios11 strings pass through', () => {
    const result = plan({ smbios11: ['io.systemd.stub.kernel-cmdline-extra=quiet'] });
    expect(result.smbiosFiles.at(-1)?.content).toEqual({ raw: 'io.systemd.stub.kernel-cmdline-extra=quiet' });
  });

  test('SMBIOS strings carry binary credentials as base64', () => {
    expect(decodeCredential(smbiosCredential('a.b', new Uint8Array([104, 105])))).toEqual(['a.b', 'hi']);
  });

  test('the host key lines install both halves of the key pair before sshd starts, replacing the image\'s', () => {
    expect(hostKeyTmpfilesLines({ hostPrivateKey: 'KEY\n', hostPublicKey: 'ssh-ed25519 AAAA c' }).split('\n')).toEqual([
      `f+~ /etc/ssh/ssh_host_ed25519_key 0600 root root - ${Buffer.from('KEY\n').toString('base64')}`,
      `f+~ /etc/ssh/ssh_host_ed25519_key.pub 0644 root root - ${Buffer.from('ssh-ed25519 AAAA c\n').toString('base64')}`,
    ]);
  });
});

describe("lifting journald's rate limit", () => {
  const credentialValues = (options: Record<string, unknown>) =>
    Object.fromEntries(
      planCredentials(resolveMachineOptions({ linux: '/k', ...options }), { notify: 1, journal: 2 }, ssh).map((credential) => [
        credential.name,
        'value' in credential ? new TextDecoder().decode(credential.value) : credential.file,
      ]),
    );

  test('is the default: a drop-in of journald that applies a tmpfiles line from its own credential', () => {
    const values = credentialValues({});
    expect(values[RATE_LIMIT_DROPIN_CREDENTIAL]).toBe(
      `[Service]\nExecStartPre=-+systemd-tmpfiles --create /run/credentials/@system/${RATE_LIMIT_TMPFILES_CREDENTIAL}\n`,
    );
    // The generator names the drop-in after the part behind "~".
    expect(RATE_LIMIT_DROPIN_CREDENTIAL).toBe('systemd.unit-dropin.systemd-journald.service~vitest-vmspawn-rate-limit');
    const line = values[RATE_LIMIT_TMPFILES_CREDENTIAL]!;
    expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
    const [type, path, mode, user, group, age, argument, ...rest] = line.trim().split(' ');
    expect({ type, path, mode, user, group, age, rest }).toEqual({
      type: 'f+~',
      path: '/run/systemd/journald.conf.d/zz-vitest-vmspawn-rate-limit.conf',
      mode: '0644',
      user: 'root',
      group: 'root',
      age: '-',
      rest: [],
    });
    expect(path).toBe(RATE_LIMIT_CONFIG_PATH);
    expect(Buffer.from(argument!, 'base64').toString()).toBe('[Journal]\nRateLimitIntervalSec=0\nRateLimitBurst=0\n');
    expect(RATE_LIMIT_CONFIG).toBe('[Journal]\nRateLimitIntervalSec=0\nRateLimitBurst=0\n');
  });

  test('the drop-in needs no escaping in a unit file: no specifiers, quotes or backslashes', () => {
    expect(credentialValues({})[RATE_LIMIT_DROPIN_CREDENTIAL]).not.toMatch(/[%\\"']/);
  });

  test("leaves the user's tmpfiles.extra alone", () => {
    const values = credentialValues({ setCredential: { 'tmpfiles.extra': 'd /srv/data 0755 root root -' } });
    expect(values['tmpfiles.extra']).toBe(`d /srv/data 0755 root root -\n${hostKeyTmpfilesLines(ssh)}\n`);
  });

  test('journalRateLimit: true keeps the limit: no credentials for it', () => {
    const values = credentialValues({ journalRateLimit: true });
    expect(Object.keys(values)).not.toContain(RATE_LIMIT_DROPIN_CREDENTIAL);
    expect(Object.keys(values)).not.toContain(RATE_LIMIT_TMPFILES_CREDENTIAL);
  });
});
