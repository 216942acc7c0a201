/** The command line parser (getopt_long's rules) and systemd's value syntaxes. */
import { describe, expect, test } from 'vitest';
import { parseBooleanValue, parseIntegerValue, parseTristateValue } from '../../src/cli/flag-values.js';
import { parseCommandLine, type FlagSpec } from '../../src/cli/flags.js';
import { UsageError } from '../../src/cli/usage-error.js';

const SPECS: FlagSpec[] = [
  { name: 'ram', takesValue: true, valueName: 'BYTES' },
  { name: 'initrd', takesValue: true, valueName: 'PATH' },
  { name: 'machine', short: 'M', takesValue: true, valueName: 'NAME' },
  { name: 'quiet', short: 'q', takesValue: false },
  { name: 'ephemeral', short: 'x', takesValue: false },
];
const parse = (...argv: string[]) => parseCommandLine(argv, SPECS);
const values = (...argv: string[]) => parse(...argv).flags.map(({ name, value }) => [name, value]);

describe('parseCommandLine', () => {
  test('--flag=value and --flag value', () => {
    expect(values('--ram=1G', '--machine', 'web')).toEqual([['ram', '1G'], ['machine', 'web']]);
  });

  test('a value may be empty or start with a dash, as getopt takes the next argument whole', () => {
    expect(values('--ram=', '--machine', '-x')).toEqual([['ram', ''], ['machine', '-x']]);
  });

  test('a value keeps further equals signs', () => {
    expect(values('--machine=a=b')).toEqual([['machine', 'a=b']]);
  });

  test('repeated flags are all kept, in order', () => {
    expect(values('--initrd=a', '--initrd', 'b', '--initrd=c')).toEqual([['initrd', 'a'], ['initrd', 'b'], ['initrd', 'c']]);
  });

  test('short flags: alone, clustered, and with an attached or separate value', () => {
    expect(values('-q', '-xq', '-Mweb', '-M', 'db', '-qMx')).toEqual([
      ['quiet', undefined], ['ephemeral', undefined], ['quiet', undefined], ['machine', 'web'], ['machine', 'db'], ['quiet', undefined], ['machine', 'x'],
    ]);
    expect(parse('-q').flags[0]?.spelled).toBe('-q');
  });

  test('-- ends the options: everything after it is positional, even what looks like a flag', () => {
    expect(parse('--quiet', '--', '--ram=1G', 'quiet')).toEqual({ flags: [{ name: 'quiet', value: undefined, spelled: '--quiet' }], positionals: ['--ram=1G', 'quiet'] });
  });

  test('the first positional argument ends the options (getopt "+"), as vmspawn reads kernel arguments', () => {
    expect(parse('--quiet', 'console=ttyS0', '--ram=1G')).toMatchObject({ positionals: ['console=ttyS0', '--ram=1G'] });
    expect(parse('-', '--quiet').positionals).toEqual(['-', '--quiet']);
  });

  test('nothing given: no flags, no positionals', () => {
    expect(parse()).toEqual({ flags: [], positionals: [] });
  });

  test.each([
    [['--rma=1G'], 'unknown flag --rma (did you mean --ram?).'],
    [['--nothing-like-it'], 'unknown flag --nothing-like-it.'],
    [['-z'], 'unknown flag -z.'],
    [['-qz'], 'unknown flag -z.'],
    [['--quiet=yes'], '--quiet takes no value (got "--quiet=yes").'],
    [['--ram'], '--ram needs a value: --ram=BYTES.'],
    [['-M'], '-M needs a value: -M=NAME.'],
  ])('%j fails: %s', (argv, message) => {
    expect(() => parse(...argv)).toThrow(new UsageError(message));
  });
});

describe('values', () => {
  test.each(['1', 'yes', 'y', 'true', 't', 'on', 'YES', 'On'])('%s is true', (word) => {
    expect(parseBooleanValue('--x', word)).toBe(true);
    expect(parseTristateValue('--x', word)).toBe(true);
  });
  test.each(['0', 'no', 'n', 'false', 'f', 'off', 'No'])('%s is false', (word) => {
    expect(parseBooleanValue('--x', word)).toBe(false);
    expect(parseTristateValue('--x', word)).toBe(false);
  });
  test('auto only for a tristate', () => {
    expect(parseTristateValue('--kvm', 'auto')).toBe('auto');
    expect(() => parseBooleanValue('--discard-disk', 'auto')).toThrow('--discard-disk=auto: expected a boolean (yes or no; also 1/0, true/false, on/off).');
    expect(() => parseTristateValue('--kvm', 'maybe')).toThrow('--kvm=maybe: expected yes, no or auto.');
    expect(() => parseBooleanValue('--x', '')).toThrow(UsageError);
  });
  test('integers: decimal or 0x hexadecimal, nothing else', () => {
    expect(parseIntegerValue('--cpus', '2', 'CPUs')).toBe(2);
    expect(parseIntegerValue('--vsock-cid', '0xdeadbeef', 'a CID')).toBe(0xdeadbeef);
    for (const bad of ['', '-1', '1.5', '2x', ' 2']) expect(() => parseIntegerValue('--cpus', bad, 'a number of CPUs')).toThrow(`--cpus=${bad}: expected a number of CPUs.`);
  });
});
