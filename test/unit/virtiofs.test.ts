import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { hasSubordinateRange } from '../../src/host/user-namespace.js';
import { virtiofsdDialect } from '../../src/host/virtiofsd.js';
import { parseBindSpec } from '../../src/options/bind-spec.js';
import { checkDirectoryAndBinds, resolveInTree } from '../../src/options/check-directory.js';
import { preflight } from '../../src/options/preflight.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { machineLayout } from '../../src/plan/machine-layout.js';
import { planMachine } from '../../src/plan/plan-machine.js';
import {
  fstabLine,
  NAMESPACE_SETUP_SCRIPT,
  PRIVATE_RUN_SCRIPT,
  planVirtiofs,
  virtiofsdArguments,
  withFstabLines,
  type VirtiofsdBinary,
} from '../../src/plan/virtiofs-plan.js';

const layout = machineLayout('/run/vm-1', '/art/test-1');
const legacy: VirtiofsdBinary = { path: '/usr/lib/qemu/virtiofsd', dialect: 'legacy' };
const rust: VirtiofsdBinary = { path: '/usr/libexec/virtiofsd', dialect: 'rust' };

function problemsOf(input: Record<string, unknown>): Array<{ option: string; message: string }> {
  try {
    resolveMachineOptions(input);
  } catch (error) {
    if (error instanceof InvalidOptionsError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('bind specifications (vmspawn --bind)', () => {
  const parse = (spec: string) => parseBindSpec(spec, false, 'bind[0]', '/home/me/project');

  test('SRC alone mounts at the same path; SRC:DST at DST', () => {
    expect(parse('/srv/data')).toEqual({ bind: { source: '/srv/data', target: '/srv/data', readOnly: false, option: 'bind[0]' } });
    expect(parse('/srv/data:/mnt/data/')).toMatchObject({ bind: { source: '/srv/data', target: '/mnt/data' } });
  });

  test('a relative SRC resolves against the current directory and needs an absolute DST', () => {
    expect(parse('out:/mnt/out')).toMatchObject({ bind: { source: '/home/me/project/out', target: '/mnt/out' } });
    expect(parse('out')).toEqual({ problem: expect.stringContaining('give an absolute guest path as SRC:DST') });
    expect(parse('/srv:mnt')).toEqual({ problem: expect.stringContaining('absolute guest path after the colon, got "mnt"') });
  });

  test('backslash escapes a colon in either path; only the first unescaped colon splits', () => {
    expect(parse('/srv/a\\:b:/mnt/c\\:d')).toMatchObject({ bind: { source: '/srv/a:b', target: '/mnt/c:d' } });
    expect(parse('/srv/a:/mnt/b:c')).toMatchObject({ bind: { source: '/srv/a', target: '/mnt/b:c' } });
  });

  test('empty parts and the guest root are refused', () => {
    expect(parse(':/mnt')).toEqual({ problem: expect.stringContaining('with a source directory') });
    expect(parse('/srv:')).toEqual({ problem: expect.stringContaining('got ""') });
    expect(parse('/srv:/')).toEqual({ problem: expect.stringContaining("guest's root directory") });
  });
});

describe('directory, ephemeral, bind options', () => {
  test('defaults: ephemeral, no binds; a directory alone is something to boot, with kernel arguments', () => {
    const options = resolveMachineOptions({ directory: 'tree', kernelArgs: ['quiet'] });
    expect(options.directory).toBe(join(process.cwd(), 'tree'));
    expect(options.ephemeral).toBe(true);
    expect(options.binds).toEqual([]);
  });

  test('directory and image are mutually exclusive', () => {
    expect(problemsOf({ directory: '/tree', image: '/disk.raw' })).toEqual([{ option: 'directory', message: expect.stringContaining('give one of them') }]);
  });

  test('ephemeral: false needs a directory', () => {
    expect(problemsOf({ image: '/disk.raw', ephemeral: false })).toEqual([{ option: 'ephemeral', message: expect.stringContaining('give directory') }]);
    expect(problemsOf({ directory: '/tree', ephemeral: false })).toEqual([]);
    expect(problemsOf({ directory: '/tree', ephemeral: 'no' })).toEqual([{ option: 'ephemeral', message: expect.stringContaining('expected true') }]);
  });

  test('bind entries: each problem names its entry, read-only ones after the writable ones', () => {
    expect(problemsOf({ linux: '/k', bind: ['/a:/mnt', 'rel'], bindReadOnly: ['/b:/mnt/'] })).toEqual([
      { option: 'bind[1]', message: expect.stringContaining('relative') },
      { option: 'bindReadOnly[0]', message: 'mounts at /mnt in the guest, as bind[0] does already: give each its own guest path' },
    ]);
    expect(problemsOf({ linux: '/k', bind: '/a' })).toEqual([{ option: 'bind', message: expect.stringContaining('expected an array') }]);
    const options = resolveMachineOptions({ linux: '/k', bind: ['/a:/x'], bindReadOnly: ['/b'] });
    expect(options.binds.map((bind) => [bind.option, bind.readOnly])).toEqual([['bind[0]', false], ['bindReadOnly[0]', true]]);
  });

  test('at most 13 shares, the root included', () => {
    const binds = Array.from({ length: 13 }, (_, index) => `/s${index}`);
    expect(problemsOf({ linux: '/k', bind: binds })).toEqual([]);
    expect(problemsOf({ directory: '/t', bind: binds })).toEqual([{ option: 'bind', message: expect.stringContaining('at most 12') }]);
  });

  test('fstab.extra from a file cannot be merged with the binds', () => {
    expect(problemsOf({ linux: '/k', bind: ['/a'], loadCredential: { 'fstab.extra': '/f' } })).toEqual([
      { option: 'credential fstab.extra', message: expect.stringContaining('setCredential') },
    ]);
  });
});

describe('virtiofsd', () => {
  test('the dialect is read from --help', () => {
    const qemuHelp = 'usage: virtiofsd [options]\n    -o cache=<mode>\n    -o source=PATH             shared directory tree\n    --socket-path=PATH\n';
    const rustHelp = 'Usage: virtiofsd [OPTIONS]\n\nOptions:\n      --shared-dir <shared-dir>\n          Shared directory path\n      --socket-path <socket-path>\n';
    expect(virtiofsdDialect(qemuHelp)).toBe('legacy');
    expect(virtiofsdDialect(rustHelp)).toBe('rust');
    expect(virtiofsdDialect('something else')).toBeUndefined();
  });

  test('arguments in both dialects; commas in the legacy -o list are escaped', () => {
    expect(virtiofsdArguments('rust', '/run/s.sock', '/srv/a,b')).toEqual([
      '--socket-path', '/run/s.sock', '--shared-dir', '/srv/a,b', '--xattr', '--no-announce-submounts',
    ]);
    expect(virtiofsdArguments('legacy', '/run/s.sock', '/srv/a,b\\c')).toEqual(['--socket-path=/run/s.sock', '-o', 'source=/srv/a\\,b\\\\c', '-o', 'xattr']);
    expect(virtiofsdArguments('legacy', '/s', '/d', 'always').slice(-2)).toEqual(['-o', 'cache=always']);
    expect(virtiofsdArguments('rust', '/s', '/d', 'always').slice(-2)).toEqual(['--cache', 'always']);
  });
});

describe('user namespace without root', () => {
  test('a subordinate id range is found by user name or uid, and must not be empty', () => {
    const user = { name: 'alice', uid: 1001 };
    expect(hasSubordinateRange('bob:100000:65536\nalice:165536:65536\n', user)).toBe(true);
    expect(hasSubordinateRange('1001:165536:65536', user)).toBe(true);
    expect(hasSubordinateRange('bob:100000:65536\n', user)).toBe(false);
    expect(hasSubordinateRange('alice:165536:0\n', user)).toBe(false);
    expect(hasSubordinateRange('', user)).toBe(false);
  });
});

describe('virtiofs plan', () => {
  const binds = resolveMachineOptions({ linux: '/k', bind: ['/srv/rw:/mnt/my data'], bindReadOnly: ['/srv/ro:/mnt/ro'] }).binds;

  test('ephemeral root: unshare runs the setup script, which execs virtiofsd on the overlay', () => {
    const plan = planVirtiofs({ directory: '/tree', ephemeral: true, binds: [], layout, virtiofsd: legacy, unshare: '/usr/bin/unshare' });
    const [helper] = plan.helpers;
    expect(helper).toEqual({
      name: 'virtiofsd-root',
      binary: '/usr/bin/unshare',
      args: [
        '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', NAMESPACE_SETUP_SCRIPT, 'vitest-vmspawn-virtiofs',
        'overlay', '/tree', '/run/vm-1/virtiofs-root',
        '/usr/lib/qemu/virtiofsd', '--socket-path=/run/vm-1/virtiofs-root.sock', '-o', 'source=/run/vm-1/virtiofs-root/shared', '-o', 'xattr',
        '-o', 'cache=always',
      ],
      logFile: '/art/test-1/virtiofsd-root.log',
      readyPath: '/run/vm-1/virtiofs-root.sock',
    });
    expect(plan.directories).toEqual(['lower', 'upper', 'work', 'shared'].reduce((dirs, name) => [...dirs, `/run/vm-1/virtiofs-root/${name}`], ['/run/vm-1/virtiofs-root']));
    expect(plan.kernelArgs).toEqual(['root=root', 'rootfstype=virtiofs', 'rw']);
    expect(plan.qemuArgs).toEqual([
      '-chardev', 'socket,id=virtiofs-root,path=/run/vm-1/virtiofs-root.sock',
      '-device', 'vhost-user-fs-pci,queue-size=1024,chardev=virtiofs-root,tag=root,addr=0x12',
    ]);
    expect(plan.fstabLines).toEqual([]);
  });

  test('ephemeral: false shares the tree itself, no namespace needed', () => {
    const plan = planVirtiofs({ directory: '/tree', ephemeral: false, binds: [], layout, virtiofsd: rust, unshare: undefined });
    expect(plan.helpers[0]).toMatchObject({ binary: '/usr/libexec/virtiofsd', args: expect.arrayContaining(['--shared-dir', '/tree']) });
    expect(plan.helpers[0]!.args).not.toContain('--cache');
    expect(plan.directories).toEqual([]);
  });

  test('without root: every share runs as root of a user namespace, with a private /run/virtiofsd before virtiofsd', () => {
    const plan = planVirtiofs({ directory: '/tree', ephemeral: true, binds, layout, virtiofsd: legacy, unshare: '/usr/bin/unshare', userNamespace: true });
    expect(plan.helpers.map((helper) => helper.binary)).toEqual(['/usr/bin/unshare', '/usr/bin/unshare', '/usr/bin/unshare']);
    for (const helper of plan.helpers) {
      expect(helper.args.slice(0, 7)).toEqual(['--user', '--map-root-user', '--map-auto', '--mount', '--propagation', 'private', '--']);
      const run = helper.args.indexOf(PRIVATE_RUN_SCRIPT);
      expect(helper.args.slice(run - 2, run + 4)).toEqual(['/bin/sh', '-c', PRIVATE_RUN_SCRIPT, 'vitest-vmspawn-virtiofs-run', '/run/vm-1', '/usr/lib/qemu/virtiofsd']);
    }
    // The writable bind has no state directory: the setup script gets a placeholder and mounts nothing.
    expect(plan.helpers[1]!.args.slice(11, 14)).toEqual(['read-write', '/srv/rw', '-']);
    expect(plan.directories).not.toContain('/run/vm-1/virtiofs-bind0');
  });

  test('binds: writable ones directly, read-only ones from a read-only bind mount; fstab lines and PCI slots in order', () => {
    const plan = planVirtiofs({ directory: '/tree', ephemeral: true, binds, layout, virtiofsd: rust, unshare: '/usr/bin/unshare' });
    expect(plan.shares.map((share) => [share.tag, share.mode, share.guestPath])).toEqual([
      ['root', 'overlay', '/'],
      ['bind0', 'read-write', '/mnt/my data'],
      ['bind1', 'read-only', '/mnt/ro'],
    ]);
    expect(plan.helpers.map((helper) => helper.binary)).toEqual(['/usr/bin/unshare', '/usr/libexec/virtiofsd', '/usr/bin/unshare']);
    expect(plan.helpers[2]!.args.slice(8, 11)).toEqual(['read-only', '/srv/ro', '/run/vm-1/virtiofs-bind1']);
    expect(plan.helpers[2]!.args).toContain('/run/vm-1/virtiofs-bind1/shared');
    expect(plan.fstabLines).toEqual(['bind0 /mnt/my\\040data virtiofs rw 0 0', 'bind1 /mnt/ro virtiofs ro 0 0']);
    expect(plan.qemuArgs.filter((arg) => arg.startsWith('vhost-user-fs-pci')).map((arg) => /addr=(0x\w+)/.exec(arg)?.[1])).toEqual(['0x12', '0x13', '0x14']);
    expect(plan.kernelArgs).toEqual(['root=root', 'rootfstype=virtiofs', 'rw']);
  });

  test('nothing shared, nothing planned; shares without virtiofsd are a programming error', () => {
    expect(planVirtiofs({ directory: undefined, ephemeral: true, binds: [], layout, virtiofsd: undefined, unshare: undefined }).helpers).toEqual([]);
    expect(() => planVirtiofs({ directory: '/t', ephemeral: true, binds: [], layout, virtiofsd: undefined, unshare: undefined })).toThrow(/virtiofsd/);
  });

  test('an overlay cannot take a runtime directory with a comma in its options', () => {
    const odd = machineLayout('/run/vm,1', '/art');
    expect(() => planVirtiofs({ directory: '/t', ephemeral: true, binds: [], layout: odd, virtiofsd: rust, unshare: '/usr/bin/unshare' })).toThrow(/comma/);
  });

  test('fstab lines escape white space and backslashes', () => {
    expect(fstabLine({ tag: 'bind3', guestPath: '/mnt/a\tb\\c', mode: 'read-only' })).toBe('bind3 /mnt/a\\011b\\134c virtiofs ro 0 0');
  });

  test("the binds' lines follow the user's own fstab.extra lines, or make the credential", () => {
    const text = (value: Uint8Array) => new TextDecoder().decode(value);
    const user = [{ name: 'fstab.extra', value: new TextEncoder().encode('/dev/vdb /data ext4 defaults 0 0\n') }, { name: 'x', value: new Uint8Array() }];
    const merged = withFstabLines(user, ['bind0 /mnt virtiofs rw 0 0']);
    expect(merged.map((credential) => credential.name)).toEqual(['fstab.extra', 'x']);
    expect(text((merged[0] as { value: Uint8Array }).value)).toBe('/dev/vdb /data ext4 defaults 0 0\nbind0 /mnt virtiofs rw 0 0\n');
    const fresh = withFstabLines([], ['bind0 /mnt virtiofs rw 0 0']);
    expect(fresh).toEqual([{ name: 'fstab.extra', value: new TextEncoder().encode('bind0 /mnt virtiofs rw 0 0\n') }]);
    expect(withFstabLines(user, [])).toEqual(user);
  });
});

describe('a machine booting a directory', () => {
  const machine = (options: Record<string, unknown>, directoryKernel?: { linux: string; initrds: string[]; kind: 'uki' | 'kernel' }) =>
    planMachine({
      options: resolveMachineOptions({ uuid: '11111111-2222-3333-4444-555555555555', ...options }),
      accelerator: 'tcg',
      layout,
      ports: { notify: 40000, journal: 40001 },
      ssh: undefined,
      imageFormat: undefined,
      kernelKind: options.linux === undefined ? undefined : 'kernel',
      firmware: undefined,
      vsock: 'user-space',
      binaries: { vhostDeviceVsock: '/usr/bin/vhost-device-vsock', virtiofsd: legacy, unshare: '/usr/bin/unshare' },
      directoryKernel,
    });
  const valuesOf = (args: string[], flag: string) => args.flatMap((arg, index) => (arg === flag ? [args[index + 1] ?? ''] : []));

  test("the boot entry's kernel and initrds; the root arguments after the user's", () => {
    const plan = machine({ directory: '/tree', kernelArgs: ['quiet'] }, { linux: '/tree/boot/vmlinuz', initrds: ['/tree/boot/a.img', '/tree/boot/b.img'], kind: 'kernel' });
    expect(valuesOf(plan.qemu.args, '-kernel')).toEqual(['/tree/boot/vmlinuz']);
    expect(plan.initrdParts).toEqual(['/tree/boot/a.img', '/tree/boot/b.img']);
    expect(valuesOf(plan.qemu.args, '-initrd')).toEqual([layout.mergedInitrd]);
    expect(valuesOf(plan.qemu.args, '-append')).toEqual(['console=ttyS0 panic=-1 quiet root=root rootfstype=virtiofs rw']);
    expect(plan.helpers.map((helper) => helper.name)).toEqual(['vhost-device-vsock', 'virtiofsd-root']);
  });

  test('linux wins over boot entries, as in vmspawn', () => {
    const plan = machine({ directory: '/tree', linux: '/k', initrd: '/i' }, undefined);
    expect(valuesOf(plan.qemu.args, '-kernel')).toEqual(['/k']);
    expect(valuesOf(plan.qemu.args, '-initrd')).toEqual(['/i']);
  });

  test('binds travel in fstab.extra, merged with the user\'s credential of that name', () => {
    const plan = machine({ linux: '/k', bind: ['/srv:/mnt'], setCredential: { 'fstab.extra': 'a /b c d 0 0' } });
    const fstab = plan.smbiosFiles.map((file) => file.content).find((content) => 'credential' in content && content.credential.name === 'fstab.extra');
    expect(fstab && 'credential' in fstab && 'value' in fstab.credential && new TextDecoder().decode(fstab.credential.value)).toBe('a /b c d 0 0\nbind0 /mnt virtiofs rw 0 0\n');
    expect(valuesOf(plan.qemu.args, '-append')[0]).not.toContain('root=');
  });
});

describe('preflight of directory and binds', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitest-vmspawn-virtiofs-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function tree(name: string, files: Record<string, string>, links: Record<string, string> = {}): Promise<string> {
    const root = join(dir, name);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), content);
    }
    for (const [path, target] of Object.entries(links)) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await symlink(target, join(root, path));
    }
    await mkdir(root, { recursive: true });
    return root;
  }

  test('a directory without os-release fails, naming the option, before anything is spawned', async () => {
    const empty = await tree('empty', { 'etc/hostname': 'x' });
    const options = resolveMachineOptions({ directory: empty, linux: '/nonexistent/vmlinuz', qemuBinary: '/nonexistent/qemu' });
    const error = await preflight(options).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).problems).toContainEqual({ option: 'directory', message: expect.stringContaining('holds no OS') });
  });

  test('missing or non-directory bind sources are named by entry', async () => {
    const file = join(await tree('files', { 'a-file': '' }), 'a-file');
    const options = resolveMachineOptions({ linux: '/k', bind: [`${dir}/missing:/m`], bindReadOnly: [`${file}:/f`] });
    expect((await checkDirectoryAndBinds(options)).problems).toEqual([
      { option: 'bind[0]', message: `source directory not found: ${dir}/missing` },
      { option: 'bindReadOnly[0]', message: `${file} is not a directory (virtiofs shares directories)` },
    ]);
  });

  test('without linux, the kernel comes from the newest Type #1 entry, its paths resolved inside the tree', async () => {
    const root = await tree(
      'type1',
      {
        'usr/lib/os-release': 'ID=test\n',
        'boot/vmlinuz-6.12': 'kernel',
        'boot/initrd.img-6.12': 'initrd',
        'boot/loader/entries/test-6.1.conf': 'linux /vmlinuz-6.1\n',
        'boot/loader/entries/test-6.12.conf': 'title T\nlinux /vmlinuz\ninitrd /initrd.img-6.12\noptions root=UUID=1 ro\n',
      },
      { 'etc/os-release': '../usr/lib/os-release', 'boot/vmlinuz': '/boot/vmlinuz-6.12' },
    );
    const check = await checkDirectoryAndBinds(resolveMachineOptions({ directory: root }));
    expect(check).toEqual({
      problems: [],
      kernel: {
        linux: join(root, 'boot/vmlinuz-6.12'),
        initrds: [join(root, 'boot/initrd.img-6.12')],
        kind: 'kernel',
        entry: '/boot/loader/entries/test-6.12.conf',
        ignoredOptions: ['root=UUID=1 ro'],
      },
    });
  });

  test('an absolute symlink in the tree never leads to the host', async () => {
    const root = await tree('escape', { 'usr/lib/os-release': '' }, { 'etc/os-release': '/../../../../etc/hostname' });
    expect(await resolveInTree(root, '/etc/os-release')).toBeUndefined();
    expect(await resolveInTree(root, '/etc/../usr/lib/../lib/os-release')).toBe(join(root, 'usr/lib/os-release'));
  });

  test('a UKI as the default entry (booted through UEFI), no entries at all, and an entry naming a missing kernel', async () => {
    const uki = await tree('uki', { 'usr/lib/os-release': '', 'efi/EFI/Linux/os.efi': 'MZ' });
    expect(await checkDirectoryAndBinds(resolveMachineOptions({ directory: uki }))).toEqual({
      problems: [],
      kernel: { linux: join(uki, 'efi/EFI/Linux/os.efi'), initrds: [], kind: 'uki', entry: '/efi/EFI/Linux/os.efi', ignoredOptions: [] },
    });
    const none = await tree('none', { 'etc/os-release': '' });
    expect((await checkDirectoryAndBinds(resolveMachineOptions({ directory: none }))).problems).toEqual([
      { option: 'directory', message: expect.stringContaining('no kernel to boot') },
    ]);
    const broken = await tree('broken', { 'etc/os-release': '', 'boot/loader/entries/a.conf': 'linux /gone\n' });
    expect((await checkDirectoryAndBinds(resolveMachineOptions({ directory: broken }))).problems).toEqual([
      { option: 'directory', message: expect.stringContaining('boot entry /boot/loader/entries/a.conf names /gone, not found') },
    ]);
    expect((await checkDirectoryAndBinds(resolveMachineOptions({ directory: broken, linux: '/k' }))).problems).toEqual([]);
  });
});
