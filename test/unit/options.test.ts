import { describe, expect, test } from 'vitest';
import { problemsOf } from './plan-fixtures.js';
import { Machine } from '../../src/machine/machine.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { formatSize, parseSize } from '../../src/options/size.js';

const boot = { linux: '/boot/vmlinuz', initrd: '/boot/initrd.img' };

describe('sizes', () => {
  test.each([
    ['512M', 512 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['64k', 64 * 1024],
    ['1GiB', 1024 ** 3],
    [1048576, 1048576],
    ['4096', 4096],
  ])('%s is %d bytes', (size, bytes) => {
    expect(parseSize(size)).toBe(bytes);
  });

  test.each(['2X', '', 'G', '-1G', '1 GB extra'])('%j is not a size', (size) => {
    expect(parseSize(size)).toBeUndefined();
  });

  test('formats with the largest whole suffix', () => {
    expect(formatSize(1024 ** 3)).toBe('1G');
    expect(formatSize(1536 * 1024 ** 2)).toBe('1536M');
    expect(formatSize(1000)).toBe('1000');
  });
});

describe('machine options', () => {
  test('applies defaults', () => {
    const options = resolveMachineOptions(boot);
    expect(options).toMatchObject({ cpus: 1, ramBytes: 1024 ** 3, kvm: 'auto', ssh: true, notifyReady: true, forwardJournal: true });
    expect(options.initrds).toEqual(['/boot/initrd.img']);
  });

  test('rejects negative cpus and names the option', () => {
    expect(problemsOf({ ...boot, cpus: -1 })).toEqual(['cpus: expected at least 1 virtual CPU']);
  });

  test("rejects ram: '2X' with the accepted format", () => {
    const [problem] = problemsOf({ ...boot, ram: '2X' });
    expect(problem).toMatch(/^ram: expected a number of bytes or a string like '512M' or '2G'.*got "2X"/);
  });

  test('rejects unknown keys and suggests the option meant', () => {
    const [problem] = problemsOf({ ...boot, rams: '1G' });
    expect(problem).toMatch(/^rams: unknown option \(did you mean ram\?\)/);
  });

  test('lists every problem at once', () => {
    expect(problemsOf({ ...boot, cpus: 0, ram: 'lots', kvm: 'yes' })).toHaveLength(3);
  });

  test('needs something to boot', () => {
    expect(problemsOf({})).toEqual([expect.stringMatching(/^linux: nothing to boot/)]);
  });

  test('an initrd without a kernel is a mistake; kernel arguments work on every boot path', () => {
    expect(problemsOf({ image: '/disk.raw', initrd: '/x', kernelArgs: ['quiet'] })).toEqual([expect.stringMatching(/^initrd: .*give linux too/)]);
  });

  test('firmware is a path, secureBoot true, false or auto', () => {
    expect(problemsOf({ image: '/disk.raw', firmware: '', secureBoot: 'yes' })).toEqual([
      'firmware: expected the path of a QEMU firmware descriptor (a JSON file as in /usr/share/qemu/firmware), got an empty string',
      "secureBoot: expected true, false or 'auto'",
    ]);
  });

  test('imageFormat needs an image', () => {
    expect(problemsOf({ ...boot, imageFormat: 'raw' })).toEqual([
      'imageFormat: is the format of image, but no image is given: give image too, or drop imageFormat',
    ]);
  });

  test('empty SMBIOS type 11 strings and strings with NUL are rejected', () => {
    expect(problemsOf({ ...boot, smbios11: ['ok=1', '', 'a\0b'] })).toEqual([
      'smbios11.1: expected a non-empty SMBIOS type 11 string, e.g. io.systemd.stub.kernel-cmdline-extra=quiet',
      'smbios11.2: SMBIOS type 11 strings must not contain NUL, which ends a string there',
    ]);
  });

  test('refuses credentials the engine sets itself', () => {
    expect(problemsOf({ ...boot, setCredential: { 'vmm.notify_socket': 'vsock:2:1' } })).toEqual([
      expect.stringMatching(/^credential vmm.notify_socket: is set by vitest-vmspawn/),
    ]);
  });

  test('allows your own journal destination when forwarding is off', () => {
    expect(() => resolveMachineOptions({ ...boot, forwardJournal: false, setCredential: { 'journal.forward_to_socket': 'vsock:2:9' } })).not.toThrow();
  });

  test("the rate limit's credentials are the engine's unless the limit is kept", () => {
    const dropIn = 'systemd.unit-dropin.systemd-journald.service~vitest-vmspawn-rate-limit';
    expect(problemsOf({ ...boot, setCredential: { [dropIn]: '[Service]' } })).toEqual([
      expect.stringMatching(/^credential systemd.unit-dropin.systemd-journald.service~vitest-vmspawn-rate-limit: is set by vitest-vmspawn .*journalRateLimit: true/),
    ]);
    expect(() => resolveMachineOptions({ ...boot, journalRateLimit: true, setCredential: { [dropIn]: '[Service]' } })).not.toThrow();
  });

  test('journalRateLimit is lifted by default and takes only booleans', () => {
    expect(resolveMachineOptions(boot).journalRateLimit).toBe(false);
    expect(problemsOf({ ...boot, journalRateLimit: 'off' })).toEqual([expect.stringMatching(/^journalRateLimit: expected true .* or false/)]);
  });

  test('rejects malformed credential names', () => {
    expect(problemsOf({ ...boot, setCredential: { 'a/b': 'x' } })[0]).toMatch(/credential names are/);
  });

  test('the Machine constructor validates before anything starts', () => {
    expect(() => new Machine({ ...boot, cpus: 1.5 })).toThrow(/cpus: expected a whole number of virtual CPUs/);
  });

  test('timeouts a timer cannot hold are rejected with the maximum', () => {
    expect(problemsOf({ ...boot, bootTimeout: 2 ** 31, shutdownTimeout: 2 ** 40 })).toEqual([
      'bootTimeout: expected the boot timeout of at most 2147483647 ms (about 24.8 days, the longest a timer can wait), got 2147483648',
      expect.stringMatching(/^shutdownTimeout: expected the shutdown timeout of at most 2147483647 ms/),
    ]);
    expect(resolveMachineOptions({ ...boot, bootTimeout: 2 ** 31 - 1 }).bootTimeout).toBe(2 ** 31 - 1);
  });

  test('each start gets a fresh UUID unless one is given', () => {
    expect(resolveMachineOptions(boot).uuid).toBeUndefined();
    expect(resolveMachineOptions({ ...boot, uuid: 'A3F0C2D4-1111-2222-3333-444455556666' }).uuid).toBe('a3f0c2d4-1111-2222-3333-444455556666');
  });
});
