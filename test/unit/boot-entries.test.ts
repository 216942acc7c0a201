import { describe, expect, test } from 'vitest';
import {
  compareVersions,
  loaderConfDefault,
  parseBootCounter,
  parseType1Entry,
  selectBootEntry,
  ukiEntry,
  type BootEntry,
} from '../../src/plan/boot-entries.js';

describe('version comparison (systemd strverscmp_improved)', () => {
  // Pairs in ascending order, from the UAPI version format specification and systemd's own tests.
  const ascending: Array<[string, string]> = [
    ['1', '2'],
    ['9', '10'],
    ['1.9', '1.10'],
    ['122', '123'],
    ['123', '123.1'],
    ['123~rc1', '123'],
    ['123~rc1', '123~rc2'],
    ['123-9', '123.1-1'],
    ['123.a', '123a'],
    ['123', '123^p1'],
    ['123^p1', '123.1'],
    ['abc', 'abcde'],
    ['a', '1'],
    ['6.1.0-9-amd64', '6.12.3-1-amd64'],
    ['6.12.9', '6.12.10'],
  ];
  test.each(ascending)('%s is older than %s', (older, newer) => {
    expect(compareVersions(older, newer)).toBeLessThan(0);
    expect(compareVersions(newer, older)).toBeGreaterThan(0);
  });

  test('leading zeros and invalid characters do not count; a missing version is the oldest', () => {
    expect(compareVersions('00123', '123')).toBe(0);
    expect(compareVersions('_1+2', '1 2')).toBe(0);
    expect(compareVersions('1.2', '1.2')).toBe(0);
    expect(compareVersions(undefined, '1')).toBeLessThan(0);
    expect(compareVersions('', '')).toBe(0);
  });
});

describe('Type #1 entries', () => {
  test('keys, several initrd lines, options lines joined; comments ignored', () => {
    const entry = parseType1Entry(
      '/boot',
      'debian-6.12.conf',
      '# comment\ntitle Debian GNU/Linux\nversion 6.12.1\nsort-key debian\nlinux /vmlinuz-6.12\ninitrd /ucode.img\ninitrd /initrd.img-6.12\noptions root=UUID=x ro\noptions quiet\n',
    );
    expect(entry).toMatchObject({
      type: 'type1',
      id: 'debian-6.12.conf',
      path: '/boot/loader/entries/debian-6.12.conf',
      partition: '/boot',
      title: 'Debian GNU/Linux',
      version: '6.12.1',
      sortKey: 'debian',
      linux: '/vmlinuz-6.12',
      initrds: ['/ucode.img', '/initrd.img-6.12'],
      options: ['root=UUID=x ro', 'quiet'],
    });
  });

  test('boot counters are split off the ID', () => {
    expect(parseBootCounter('a+3-1.conf')).toEqual({ id: 'a.conf', triesLeft: 3, triesDone: 1 });
    expect(parseBootCounter('a+2.efi')).toEqual({ id: 'a.efi', triesLeft: 2, triesDone: 0 });
    expect(parseBootCounter('a-1.conf')).toEqual({ id: 'a-1.conf' });
  });

  test("loader.conf's default glob", () => {
    expect(loaderConfDefault('timeout 3\ndefault debian-*.conf\n')).toBe('debian-*.conf');
    expect(loaderConfDefault('timeout 3\n')).toBeUndefined();
  });
});

describe('choosing the entry to boot', () => {
  const conf = (file: string, body = '') => parseType1Entry('/boot', file, `linux /vmlinuz-${file}\n${body}`);
  const ids = (entries: BootEntry[]) => entries.map((entry) => entry.id);

  test('by ID, newest version first, without sort keys', () => {
    expect(selectBootEntry([conf('linux-6.1.conf'), conf('linux-6.12.conf'), conf('linux-6.9.conf')])?.id).toBe('linux-6.12.conf');
  });

  test('entries with a sort key come first; among them by sort key, then newest version', () => {
    const entries = [
      conf('zzz-old-style.conf'),
      conf('b.conf', 'sort-key fedora\nversion 40'),
      conf('a.conf', 'sort-key debian\nversion 6.1'),
      conf('c.conf', 'sort-key debian\nversion 6.12'),
    ];
    expect(selectBootEntry(entries)?.id).toBe('c.conf');
    expect(ids([...entries].sort((x, y) => (selectBootEntry([x, y]) === x ? -1 : 1)))).toEqual(['c.conf', 'a.conf', 'b.conf', 'zzz-old-style.conf']);
  });

  test('entries without tries left go last; more tries left first', () => {
    expect(selectBootEntry([conf('b+0-3.conf'), conf('a.conf')])?.id).toBe('a.conf');
    expect(selectBootEntry([conf('x+1-2.conf'), conf('x+3-0.conf')])?.triesLeft).toBe(3);
  });

  test("loader.conf's default wins when it matches, else the first entry", () => {
    const entries = [conf('linux-6.1.conf'), conf('linux-6.12.conf')];
    expect(selectBootEntry(entries, 'linux-6.1.*')?.id).toBe('linux-6.1.conf');
    expect(selectBootEntry(entries, 'other-*')?.id).toBe('linux-6.12.conf');
  });

  test('a UKI takes part in the order by file name; entries without linux are left out', () => {
    const uki = ukiEntry('/efi', 'debian-6.13.efi');
    expect(uki).toMatchObject({ type: 'uki', linux: '/EFI/Linux/debian-6.13.efi', path: '/efi/EFI/Linux/debian-6.13.efi' });
    expect(selectBootEntry([conf('debian-6.12.conf'), uki])?.type).toBe('uki');
    expect(selectBootEntry([parseType1Entry('/efi', 'shell.conf', 'efi /shell.efi\n')])).toBeUndefined();
  });
});
