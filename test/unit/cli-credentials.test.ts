/** vmspawn's --set-credential (systemd's cunescape) and --load-credential. */
import { describe, expect, test } from 'vitest';
import { cunescape, parseLoadCredential, parseSetCredential } from '../../src/cli/credential-flags.js';
import { UsageError } from '../../src/cli/usage-error.js';

const bytes = (text: string) => [...cunescape(text)];

describe('cunescape (systemd, NUL accepted)', () => {
  test.each([
    ['\\a', 0x07], ['\\b', 0x08], ['\\f', 0x0c], ['\\n', 0x0a], ['\\r', 0x0d], ['\\t', 0x09], ['\\v', 0x0b],
    ['\\\\', 0x5c], ['\\"', 0x22], ["\\'", 0x27], ['\\s', 0x20],
    ['\\x41', 0x41], ['\\x7f', 0x7f], ['\\xFF', 0xff], ['\\x00', 0x00],
    ['\\101', 0x41], ['\\377', 0xff], ['\\000', 0x00],
  ])('%s is byte %i', (escape, byte) => {
    expect(bytes(escape)).toEqual([byte]);
  });

  test('\\u and \\U are code points, written as UTF-8', () => {
    expect(bytes('\\u00e9')).toEqual([0xc3, 0xa9]);
    expect(bytes('\\u20AC')).toEqual([0xe2, 0x82, 0xac]);
    expect(bytes('\\U0001F600')).toEqual([0xf0, 0x9f, 0x98, 0x80]);
    expect(bytes('\\u0000')).toEqual([0]);
  });

  test('\\x and octal are raw bytes, not code points', () => {
    expect(bytes('\\xc3\\xa9')).toEqual([0xc3, 0xa9]);
    expect(bytes('\\351')).toEqual([0xe9]);
  });

  test('plain text (UTF-8), colons and mixed escapes', () => {
    expect(Buffer.from(cunescape('a:b=c é 😀')).toString()).toBe('a:b=c é 😀');
    expect(Buffer.from(cunescape('line 1\\nline\\t2\\x21')).toString()).toBe('line 1\nline\t2!');
    expect(bytes('')).toEqual([]);
  });

  test.each([
    ['\\', 'a trailing backslash (write \\\\ for a backslash)'],
    ['abc\\', 'a trailing backslash'],
    ['\\:', '\\: is not an escape'],
    ['\\q', '\\q is not an escape'],
    ['\\e', '\\e is not an escape'],
    ['\\x4', '\\x4 needs exactly 2 hexadecimal digits'],
    ['\\xZZ', '\\xZZ needs exactly 2 hexadecimal digits'],
    ['\\u12', '\\u12 needs exactly 4 hexadecimal digits'],
    ['\\u12g4', '\\u12g4 needs exactly 4 hexadecimal digits'],
    ['\\U0001F60', '\\U0001F60 needs exactly 8 hexadecimal digits'],
    ['\\U00110000', '\\U00110000 is not a valid Unicode code point'],
    ['\\U0000D800', '\\U0000D800 is not a valid Unicode code point'],
    ['\\U0000FFFE', '\\U0000FFFE is not a valid Unicode code point'],
    ['\\U0000FDD0', '\\U0000FDD0 is not a valid Unicode code point'],
    ['\\12', '\\12 is not an octal escape'],
    ['\\18a', '\\18a is not an octal escape'],
    ['\\400', '\\400 is above \\377 (255)'],
  ])('%s fails: %s', (text, message) => {
    expect(() => cunescape(text)).toThrow(message);
  });
});

describe('--set-credential=ID:VALUE', () => {
  test('the ID ends at the first colon; the value keeps further colons and is unescaped', () => {
    expect(parseSetCredential('my.cred:a:b\\nc')).toEqual({ id: 'my.cred', value: 'a:b\nc' });
    expect(parseSetCredential('empty:')).toEqual({ id: 'empty', value: '' });
  });
  test('bytes that are not UTF-8 stay bytes', () => {
    expect(parseSetCredential('bin:\\x00\\xff')).toEqual({ id: 'bin', value: Uint8Array.from([0, 0xff]) });
  });
  test('a NUL that is valid UTF-8 stays a string', () => {
    expect(parseSetCredential('nul:a\\x00b')).toEqual({ id: 'nul', value: 'a\0b' });
  });
  test.each([
    ['nocolon', '--set-credential=nocolon: missing value; expected --set-credential=ID:VALUE.'],
    [':value', '"" is not a valid credential name'],
    ['a/b:value', '"a/b" is not a valid credential name'],
    ['..:value', '".." is not a valid credential name'],
    ['tab\\\there:x', 'is not a valid credential name'],
    [`${'x'.repeat(256)}:v`, 'is not a valid credential name'],
    ['id:bad\\q', '--set-credential=id:bad\\q: \\q is not an escape'],
    ['id\\', '--set-credential=id\\: the ID ends in a backslash.'],
  ])('%s fails: %s', (argument, message) => {
    expect(() => parseSetCredential(argument)).toThrow(UsageError);
    expect(() => parseSetCredential(argument)).toThrow(message);
  });
});

describe('--load-credential=ID:PATH', () => {
  test('a path with a slash is a file, relative to the current directory', () => {
    expect(parseLoadCredential('key:/etc/secret', {}, '/project')).toEqual({ id: 'key', path: '/etc/secret' });
    expect(parseLoadCredential('key:./secret', {}, '/project')).toEqual({ id: 'key', path: '/project/secret' });
    expect(parseLoadCredential('key:dir/secret', {}, '/project')).toEqual({ id: 'key', path: '/project/dir/secret' });
  });
  test('a name without a slash is a credential passed to this command', () => {
    expect(parseLoadCredential('key:outer', { CREDENTIALS_DIRECTORY: '/run/credentials/x.service' }, '/project')).toEqual({ id: 'key', path: '/run/credentials/x.service/outer' });
  });
  test.each([
    ['key:outer', '$CREDENTIALS_DIRECTORY is not set; write ./outer for a file in the current directory.'],
    ['key:', 'expected a file path or the name of a credential passed to this command'],
    ['nopath', 'missing value; expected --load-credential=ID:PATH.'],
    ['a/b:./x', 'is not a valid credential name'],
  ])('%s fails: %s', (argument, message) => {
    expect(() => parseLoadCredential(argument, {}, '/project')).toThrow(message);
  });
});
