/** `run`'s flags: the table covers vmspawn's manual page, and each flag becomes the right engine option. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { exitCode } from '../../src/cli/commands/run.js';
import { copyJournal, journalTarget } from '../../src/cli/journal-copy.js';
import { flagOfOption, RUN_FLAGS } from '../../src/cli/run-flags.js';
import { parseRunArguments, tapName, type RunContext } from '../../src/cli/run-options.js';
import { runUsage } from '../../src/cli/run-usage.js';
import { UsageError } from '../../src/cli/usage-error.js';
import type { MachineExit } from '../../src/machine/summary.js';

/** systemd-vmspawn's manual page (systemd's man/systemd-vmspawn.xml), kept as the reference of its flags. */
const REFERENCE = readFileSync(new URL('reference/systemd-vmspawn.1.xml', import.meta.url), 'utf8');
const context: RunContext = { env: {}, cwd: '/project', interactiveTerminal: false };
const parse = (...argv: string[]) => parseRunArguments(argv, context);
const options = (...argv: string[]) => {
  const request = parse(...argv);
  if (request.action !== 'boot') throw new Error(`expected a boot, got ${request.action}`);
  return request.options;
};

describe('the flag table', () => {
  test('covers every option of systemd-vmspawn(1), long and short', () => {
    // Options documented in <term>s, and the standard ones pulled in by xi:include.
    const documented = [...REFERENCE.matchAll(/<term><option>(-{1,2}[a-zA-Z0-9-]+)/g)].map((match) => match[1]!);
    const included = [...REFERENCE.matchAll(/standard-options\.xml" xpointer="([a-z-]+)"/g)].map((match) => `--${match[1]}`);
    const known = new Set(RUN_FLAGS.flatMap((flag) => [`--${flag.name}`, ...(flag.short ? [`-${flag.short}`] : [])]));
    expect(documented.length).toBeGreaterThan(40);
    expect([...documented, ...included].filter((option) => !known.has(option))).toEqual([]);
  });

  test('every flag maps to engine options, to run itself, or to a reason', () => {
    for (const flag of RUN_FLAGS) {
      if (typeof flag.maps === 'object' && 'unsupported' in flag.maps) expect(flag.maps.unsupported.length, flag.name).toBeGreaterThan(20);
      else expect(flag.maps === 'cli' || flag.maps.length > 0, flag.name).toBe(true);
    }
  });

  test('names and short forms are unique', () => {
    const names = RUN_FLAGS.map((flag) => flag.name);
    const shorts = RUN_FLAGS.flatMap((flag) => (flag.short ? [flag.short] : []));
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(shorts).size).toBe(shorts.length);
  });

  test('--help lists every supported flag and names the unsupported ones', () => {
    const usage = runUsage();
    for (const flag of RUN_FLAGS) expect(usage, flag.name).toContain(`--${flag.name}`);
    expect(usage).toContain('Not supported (they fail, saying why): --slice, --property, --keep-unit');
    expect(usage).toContain('2  usage error');
  });

  test('engine option problems are named by their flags', () => {
    expect(flagOfOption('ram')).toBe('--ram');
    expect(flagOfOption('setCredential.a=b')).toBe('--set-credential');
    expect(flagOfOption('extraDrives[0].path')).toBe('--extra-drive');
    expect(flagOfOption('bindReadOnly')).toBe('--bind-ro');
    expect(flagOfOption('qemuArgs')).toBeUndefined();
  });
});

describe('flags → MachineOptions', () => {
  test('nothing given: the default image, headless without a terminal, interactive on one', () => {
    expect(parse()).toEqual({ action: 'boot', options: {}, defaultImage: true, console: 'headless', quiet: false, journalPath: undefined });
    expect(parseRunArguments([], { ...context, interactiveTerminal: true })).toMatchObject({ console: 'interactive' });
  });

  test('boot sources and paths, resolved against the current directory', () => {
    expect(options('-i', 'disk.raw', '--image-format=qcow2', '--linux=/boot/vmlinuz', '--initrd=a.cpio', '--initrd', '/b.cpio')).toEqual({
      image: '/project/disk.raw', imageFormat: 'qcow2', linux: '/boot/vmlinuz', initrd: ['/project/a.cpio', '/b.cpio'],
    });
    expect(options('-D', 'tree', '-x')).toEqual({ directory: '/project/tree', ephemeral: true });
    expect(parse('--linux=k')).toMatchObject({ defaultImage: false });
  });

  test('host configuration', () => {
    expect(options('--cpus=2', '--ram=2G', '--kvm=no', '--vsock=auto', '--vsock-cid=0x10', '--tpm=yes', '--tpm-state=state', '--discard-disk=off', '--secure-boot=auto', '-G', '4G', '--notify-ready=no')).toEqual({
      cpus: 2, ram: '2G', kvm: false, vsock: 'auto', vsockCid: 16, tpm: true, tpmState: '/project/state', discardDisk: false, secureBoot: 'auto', growImage: '4G', notifyReady: false,
    });
    expect(options('--tpm-state=off').tpmState).toBe('off');
    expect(options('--vsock-cid=7', '--vsock-cid=')).toEqual({});
  });

  test('--vsock: yes is the kernel\'s (as vmspawn), plus the engine\'s user-space', () => {
    expect(options('--vsock=yes').vsock).toBe('kernel');
    expect(options('--vsock=no').vsock).toBe(false);
    expect(options('--vsock=user-space').vsock).toBe('user-space');
    expect(options('--vsock=kernel').vsock).toBe('kernel');
  });

  test('network: the last of --network-user-mode and --network-tap wins; the tap is vt-MACHINE', () => {
    expect(options('--network-user-mode').network).toBe('user');
    expect(options('--network-user-mode', '-n', '-M', 'web').network).toEqual({ tap: 'vt-web' });
    expect(options('-n', '--network-user-mode').network).toBe('user');
    expect(tapName('a-very-long-machine-name')).toBe('vt-a-very-long-');
  });

  test('identity, firmware, SMBIOS, mounts and drives', () => {
    expect(options('-M', 'web', '--uuid=0b9e0a4c-2d2e-4d39-8f4c-5a1a8c2f3d11', '--firmware=./fw.json', '-s', 'a=b', '--smbios11=c=d')).toEqual({
      name: 'web', uuid: '0b9e0a4c-2d2e-4d39-8f4c-5a1a8c2f3d11', firmware: '/project/fw.json', smbios11: ['a=b', 'c=d'],
    });
    expect(options('-s', 'a=b', '--smbios11=').smbios11).toEqual([]);
    expect(options('--bind=/src:/dst', '--bind=rel', '--bind-ro=/ro')).toEqual({ bind: ['/src:/dst', 'rel'], bindReadOnly: ['/ro'] });
    expect(options('--extra-drive=a.img', '--extra-drive=/b.qcow2:qcow2', '--extra-drive=c:d', '--extra-drive=e:raw')).toEqual({
      extraDrives: ['/project/a.img', { path: '/b.qcow2', format: 'qcow2' }, '/project/c:d', { path: '/project/e', format: 'raw' }],
    });
  });

  test('credentials, SSH, journal, console and kernel arguments', () => {
    const request = parse('--set-credential=a:x\\ty', '--load-credential=b:./file', '--pass-ssh-key=no', '--ssh-key-type=ed25519', '--forward-journal=logs', '--console=read-only', '-q', '--register=no', '--background=', '--no-pager', '--', 'quiet', 'systemd.wants=x.service');
    expect(request).toEqual({
      action: 'boot',
      options: { setCredential: { a: 'x\ty' }, loadCredential: { b: '/project/file' }, ssh: false, forwardJournal: true, kernelArgs: ['quiet', 'systemd.wants=x.service'] },
      defaultImage: true, console: 'read-only', quiet: true, journalPath: '/project/logs', register: false, background: '',
    });
    expect(options('quiet', '--ram=1G').kernelArgs).toEqual(['quiet', '--ram=1G']);
    expect(parse('--register=yes')).toMatchObject({ register: true });
    expect(parse()).toMatchObject({ register: undefined, background: undefined });
    expect(parse('--background=48;2;0;64;0')).toMatchObject({ background: '48;2;0;64;0' });
  });

  test('additions: --artifacts-dir and --boot-timeout', () => {
    expect(options('--artifacts-dir=out', '--boot-timeout=300')).toEqual({ artifactsDir: '/project/out', bootTimeout: 300_000 });
  });

  test('--help, --version and --firmware=list win over booting', () => {
    expect(parse('--ram=1G', '-h')).toEqual({ action: 'help' });
    expect(parse('--version')).toEqual({ action: 'version' });
    expect(parse('--firmware=list')).toEqual({ action: 'list-firmware' });
  });
});

describe('bad flags fail naming the flag, before anything starts', () => {
  test.each([
    [['--slice=x.slice'], '--slice is not supported: QEMU runs as a child of this command, not in a systemd scope unit of its own.'],
    [['-S', 'x.slice'], '-S is not supported'],
    [['--property=MemoryMax=1G'], '--property is not supported'],
    [['--keep-unit'], '--keep-unit is not supported'],
    [['--private-users=100000'], '--private-users is not supported: the engine picks virtiofsd\'s id mapping itself'],
    [['--bind-user=me'], '--bind-user is not supported'],
    [['--bind-user-shell=yes'], '--bind-user-shell is not supported'],
    [['--bind-user-group=wheel'], '--bind-user-group is not supported'],
    [['--qemu-gui'], '--qemu-gui is not supported'],
    [['--register=maybe'], '--register=maybe: expected a boolean'],
    [['--initrd=initrd.img'], '--initrd needs --linux'],
    [['--ssh-key-type=rsa'], '--ssh-key-type=rsa is not supported: the engine\'s SSH keys are ed25519'],
    [['--background=red'], '--background=red: expected an ANSI SGR background colour such as 41, 48;5;22 or 48;2;0;64;0, or nothing (--background=) for no colouring.'],
    [['--background=41m\x1b[2J'], '--background=41m\x1b[2J: expected an ANSI SGR background colour'],
    [['--console=gui'], '--console=gui is not supported: machines run without a display'],
    [['--console=loud'], '--console=loud: expected one of interactive, read-only, headless.'],
    [['--console=native'], '--console=native is not supported: it gives QEMU\'s own monitor on the console'],
    [['--image-format=vmdk'], '--image-format=vmdk: expected raw or qcow2.'],
    [['--cpus=two'], '--cpus=two: expected a number of CPUs (1 or more).'],
    [['--vsock-cid=-3'], '--vsock-cid=-3: expected a CID'],
    [['--kvm=sometimes'], '--kvm=sometimes: expected yes, no or auto.'],
    [['--vsock=fast'], '--vsock=fast: expected yes, no or auto.'],
    [['--tpm=2'], '--tpm=2: expected yes, no or auto.'],
    [['--discard-disk=auto'], '--discard-disk=auto: expected a boolean'],
    [['--notify-ready=later'], '--notify-ready=later: expected a boolean'],
    [['--pass-ssh-key='], '--pass-ssh-key=: expected a boolean'],
    [['--firmware=fw.json'], '--firmware=fw.json: expected an absolute path, a path starting with ./, or list.'],
    [['--forward-journal='], '--forward-journal needs a FILE.journal or a DIR.'],
    [['--extra-drive='], '--extra-drive needs a PATH[:raw|qcow2].'],
    [['--boot-timeout=soon'], '--boot-timeout=soon: expected a number of seconds.'],
    [['--set-credential=a:1', '--load-credential=a:./f'], '--load-credential: duplicate credential "a"'],
    [['--set-credential=a:1', '--set-credential=a:2'], '--set-credential: duplicate credential "a"'],
    [['--set-credential=a'], '--set-credential=a: missing value'],
    [['--cpu=2'], 'unknown flag --cpu (did you mean --cpus?).'],
    [['--network-tap=tap0'], '--network-tap takes no value'],
    [['--ram'], '--ram needs a value: --ram=BYTES.'],
  ])('%j: %s', (argv, message) => {
    expect(() => parse(...argv)).toThrow(UsageError);
    expect(() => parse(...argv)).toThrow(message);
  });
});

describe('exit code and journal', () => {
  const exit = (partial: Partial<MachineExit>): MachineExit => ({ exitStatus: undefined, qemuExitCode: 0, qemuSignal: undefined, endedBy: 'guest', reason: 'x', ...partial });
  test('the guest\'s EXIT_STATUS, else 0 for an orderly end and 1 for a crash', () => {
    expect(exitCode(exit({ exitStatus: 42 }))).toBe(42);
    expect(exitCode(exit({ exitStatus: 0, endedBy: 'shutdown' }))).toBe(0);
    expect(exitCode(exit({ endedBy: 'guest' }))).toBe(0);
    expect(exitCode(exit({ endedBy: 'shutdown' }))).toBe(0);
    for (const endedBy of ['crashed', 'killed', 'abandoned', 'boot-failure'] as const) expect(exitCode(exit({ endedBy }))).toBe(1);
  });
  test('--forward-journal: FILE.journal is the file, anything else a directory', () => {
    expect(journalTarget('/out/vm.journal', 'web')).toBe('/out/vm.journal');
    expect(journalTarget('/out', 'web')).toBe('/out/web.journal');
  });
  test('the native journal is copied when there is one, else the export format with .export', async () => {
    const { mkdtemp, writeFile, readFile, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'journal-copy-'));
    try {
      await writeFile(join(dir, 'journal.export'), 'export');
      expect(await copyJournal(dir, join(dir, 'out'), 'web')).toBe(join(dir, 'out', 'web.export'));
      await writeFile(join(dir, 'journal.journal'), 'native');
      expect(await copyJournal(dir, join(dir, 'out'), 'web')).toBe(join(dir, 'out', 'web.journal'));
      expect(await readFile(join(dir, 'out', 'web.journal'), 'utf8')).toBe('native');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('--console=interactive', () => {
  test('Ctrl-] three times within a second leaves; slower presses or other keys in between do not', async () => {
    const { escapeDetector } = await import('../../src/cli/interactive-console.js');
    let now = 0;
    const pressed = escapeDetector(() => now);
    expect(pressed(Uint8Array.from([0x1d, 0x1d]))).toBe(false);
    expect(pressed(Uint8Array.from([0x1d]))).toBe(true);
    const slow = escapeDetector(() => now);
    for (const time of [0, 600, 1200]) {
      now = time;
      expect(slow(Uint8Array.from([0x1d]))).toBe(false);
    }
    const interrupted = escapeDetector(() => 0);
    expect(interrupted(Uint8Array.from([0x1d, 0x1d, 0x61, 0x1d]))).toBe(false);
  });
});

describe('a guest that exits during the boot', () => {
  test('gives its EXIT_STATUS when QEMU ended cleanly after it; nothing when it crashed or sent none', async () => {
    const { guestExitDuringBoot } = await import('../../src/cli/commands/run.js');
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'boot-exit-'));
    const summary = (exit: Partial<MachineExit>) =>
      writeFile(join(dir, 'summary.json'), JSON.stringify({ exit: { exitStatus: undefined, qemuExitCode: 0, qemuSignal: undefined, endedBy: 'boot-failure', reason: 'x', ...exit } }));
    try {
      expect(await guestExitDuringBoot(dir)).toBeUndefined(); // no summary
      await summary({ exitStatus: 7 });
      expect(await guestExitDuringBoot(dir)).toMatchObject({ exitStatus: 7, endedBy: 'guest', reason: 'the guest exited during the boot, EXIT_STATUS=7' });
      await summary({});
      expect(await guestExitDuringBoot(dir)).toBeUndefined();
      await summary({ exitStatus: 7, qemuExitCode: 1 });
      expect(await guestExitDuringBoot(dir)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
