/** The command line of `check`: sources, machine flags with vmspawn's names and values, and every bad value named by its flag. */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { command, labelOf, timestamp } from '../../src/cli/commands/check.js';
import { flagOfOption, parseCheckFlags } from '../../src/cli/check/check-flags.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { runCliCommand } from '../support/run-cli-command.js';

describe('what to boot', () => {
  test('nothing given: the default image, with human output and no JUnit', () => {
    expect(parseCheckFlags([])).toMatchObject({ help: false, source: { kind: 'default-image' }, json: false, junit: undefined, kernelArgs: [], machine: {} });
  });

  test('an IMAGE, a directory, a kernel with initrds, and kernel arguments after --', () => {
    expect(parseCheckFlags(['disk.raw']).source).toEqual({ kind: 'image', path: 'disk.raw' });
    expect(parseCheckFlags(['--image=disk.qcow2']).source).toEqual({ kind: 'image', path: 'disk.qcow2' });
    expect(parseCheckFlags(['-D', 'tree']).source).toEqual({ kind: 'directory', path: 'tree' });
    const kernel = parseCheckFlags(['--linux', 'vmlinuz', '--initrd', 'a.cpio', '--initrd=b.cpio', '--', 'quiet', '--weird-arg']);
    expect(kernel.source).toEqual({ kind: 'linux', path: 'vmlinuz', initrd: ['a.cpio', 'b.cpio'] });
    expect(kernel.kernelArgs).toEqual(['quiet', '--weird-arg']);
  });

  test('a kernel with an image boots the image with that kernel', () => {
    const invocation = parseCheckFlags(['root.raw', '--linux', 'vmlinuz', '--initrd', 'i.cpio']);
    expect(invocation.source).toEqual({ kind: 'image', path: 'root.raw' });
    expect(invocation.machine).toMatchObject({ linux: 'vmlinuz', initrd: ['i.cpio'] });
  });

  test('conflicting or incomplete sources are usage errors that say what to do', () => {
    expect(() => parseCheckFlags(['a.raw', 'b.raw'])).toThrow('check takes at most one IMAGE; got 2: a.raw b.raw. Kernel arguments go after --.');
    expect(() => parseCheckFlags(['a.raw', '--directory', 'tree'])).toThrow('IMAGE and --directory both name what to boot; give one.');
    expect(() => parseCheckFlags(['a.raw', '--image', 'b.raw'])).toThrow('IMAGE and --image both name an image; give one.');
    expect(() => parseCheckFlags(['--initrd', 'i.cpio'])).toThrow('--initrd needs --linux (the kernel to boot it with).');
    expect(() => parseCheckFlags(['--linux', ''])).toThrow('--linux: the value is empty.');
  });
});

describe('output and check flags', () => {
  test('--json, --junit, --artifacts, --timeout in seconds and --allow patterns', () => {
    const invocation = parseCheckFlags(['--json', '--junit', 'out/check.xml', '--artifacts=art', '--timeout', '90.5', '--allow', 'unit:foo.service', '--allow=MMCONFIG']);
    expect(invocation).toMatchObject({ json: true, junit: 'out/check.xml', artifactsDir: 'art', bootTimeoutMs: 90_500 });
    expect(parseCheckFlags(['--artifacts-dir', 'out']).artifactsDir).toBe('out');
    expect(() => parseCheckFlags(['--artifacts=a', '--artifacts-dir=b'])).toThrow('--artifacts and --artifacts-dir are the same flag; give one.');
    expect(invocation.allow).toEqual({ patterns: ['unit:foo.service', 'MMCONFIG'], matches: [{ unit: 'foo.service' }, { message: /MMCONFIG/ }] });
  });

  test.each([
    [['--timeout', '0'], /^--timeout: "0" is not a boot timeout; give seconds/],
    [['--timeout', '2m'], /^--timeout: "2m" is not a boot timeout/],
    [['--timeout', '9999999'], /^--timeout: "9999999" is not a boot timeout/],
    [['--allow', 'unit:'], /^--allow "unit:": unit: needs a name/],
    [['--allow', '(oops'], /^--allow "\(oops": not a valid regular expression/],
    [['--junit', ''], /^--junit: the value is empty/],
    [['--json=yes'], /--json/],
    [['--ram'], /--ram/],
    [['--rma', '2G'], /Unknown option '--rma'/],
  ])('%j is refused, naming the flag', (argv, message) => {
    expect(() => parseCheckFlags(argv)).toThrow(UsageError);
    expect(() => parseCheckFlags(argv)).toThrow(message);
  });

  test('--help shows the help whatever else is given, unless a flag is unknown', () => {
    expect(parseCheckFlags(['-h', 'a.raw', 'b.raw']).help).toBe(true);
    expect(parseCheckFlags(['--help', '--cpus=0']).help).toBe(true);
    expect(() => parseCheckFlags(['--help', '--rma'])).toThrow("Unknown option '--rma'.");
  });
});

describe('machine flags, as vmspawn names them', () => {
  test('map to the engine options', () => {
    const { machine } = parseCheckFlags([
      '--machine=ci-1',
      '--cpus=2',
      '--ram',
      '2G',
      '--kvm=no',
      '--vsock=yes',
      '--firmware',
      './fw.json',
      '--secure-boot=auto',
      '--tpm=off',
      '--set-credential=greeting:hello\\nworld',
      '--set-credential=path:C:\\\\x',
    ], '/project');
    expect(machine).toEqual({
      name: 'ci-1',
      cpus: 2,
      ram: '2G',
      kvm: false,
      vsock: 'kernel',
      firmware: '/project/fw.json',
      secureBoot: 'auto',
      tpm: false,
      setCredential: { greeting: 'hello\nworld', path: 'C:\\x' },
    });
    expect(parseCheckFlags(['--vsock=user-space']).machine.vsock).toBe('user-space');
    expect(parseCheckFlags(['--vsock=no']).machine.vsock).toBe(false);
    expect(parseCheckFlags(['--vsock=auto']).machine.vsock).toBe('auto');
  });

  test.each([
    [['--cpus=many'], '--cpus=many: expected a number of CPUs (1 or more)'],
    [['--cpus=1.5'], '--cpus=1.5: expected a number of CPUs'],
    [['--kvm=maybe'], '--kvm=maybe: expected yes, no or auto.'],
    [['--vsock=vhost'], '--vsock=vhost: expected'],
    [['--firmware=fw.json'], '--firmware=fw.json: expected an absolute path, a path starting with ./, or list.'],
    [['--firmware=list'], '--firmware=list lists the firmware with vitest-vmspawn firmware, not in a check.'],
    [['--set-credential=a:1', '--set-credential=a:2'], 'duplicate credential "a"'],
    [['--tpm=2'], '--tpm=2: expected yes, no or auto.'],
    [['--set-credential=novalue'], '--set-credential=novalue: missing value'],
    [['--set-credential=x:bad\\q'], '--set-credential=x:bad\\q: \\q is not a'],
    [['--set-credential=x:end\\'], '--set-credential=x:end\\: a trailing b'],
  ])('%j is refused, naming the flag', (argv, message) => {
    expect(() => parseCheckFlags(argv)).toThrow(message);
  });

  test('engine option names map back to the flags', () => {
    expect(flagOfOption('ram')).toBe('--ram');
    expect(flagOfOption('setCredential.my.secret')).toBe('--set-credential');
    expect(flagOfOption('name')).toBe('--machine');
    expect(flagOfOption('image')).toBe('IMAGE');
    expect(flagOfOption('qemuBinary')).toBe('qemuBinary');
    expect(flagOfOption('bootTimeout')).toBe('--timeout');
    expect(flagOfOption('cpus')).toBe('--cpus');
  });
});


describe('the check command', () => {
  async function run(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const { code, stdout, stderr } = await runCliCommand(command, argv, { env: {}, cwd: tmpdir() });
    return { exitCode: code, stdout, stderr };
  }

  test('--help prints the usage and exits 0', async () => {
    const { exitCode, stdout } = await run(['--help']);
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^Usage: vitest-vmspawn check \[IMAGE \| --directory DIR \| --linux KERNEL/);
    expect(stdout).toContain('Exit status: 0 healthy, 1 degraded (or the boot failed), 2 bad usage.');
  });

  test('a bad flag exits 2 naming it, and says where the help is', async () => {
    expect(await run(['--cpus=many'])).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: `check: --cpus=many: expected a number of CPUs (1 or more).\nRun 'vitest-vmspawn check --help' for the flags.\n`,
    });
  });

  test("a value the engine refuses exits 2 with the flag's name, before anything starts", async () => {
    const artifacts = join(tmpdir(), `vmspawn-check-never-${process.pid}`);
    const { exitCode, stderr } = await run(['--linux', '/no/such/vmlinuz', '--ram', '2X', '--machine', 'not a hostname', '--artifacts', artifacts]);
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(/^check: --ram: expected a number of bytes/m);
    expect(stderr).toMatch(/^--machine: expected a hostname-like name/m);
    expect(existsSync(artifacts)).toBe(false);
    // Without an image: refused before the default image is looked for or built.
    const defaultImage = await run(['--ram', '2X', '--artifacts', artifacts]);
    expect(defaultImage).toMatchObject({ exitCode: 2, stderr: expect.stringMatching(/^check: --ram: expected a number of bytes/) });
    expect(defaultImage.stderr).not.toContain('booting');
  });
});

test('the default artifacts directory is named after what is booted and when', () => {
  expect(labelOf(parseCheckFlags([]), '/w')).toBe('default-image');
  expect(labelOf(parseCheckFlags(['images/server.raw']), '/w')).toBe('server');
  expect(labelOf(parseCheckFlags(['fedora_42.x86_64.qcow2']), '/w')).toBe('fedora-42-x86-64');
  expect(labelOf(parseCheckFlags(['--linux', '/boot/vmlinuz-6.12.0', '--initrd', 'i']), '/w')).toBe('vmlinuz-6-12-0');
  expect(labelOf(parseCheckFlags(['-D', '.']), '/srv/root')).toBe('root');
  expect(timestamp(new Date('2026-11-26T03:05:09.871Z'))).toBe('20261126-030509');
});
