import { describe, expect, test } from 'vitest';
import { resolve } from 'node:path';
import { InvalidOptionsError } from '../../src/errors.js';
import { testArtifactsDirName } from '../../src/vitest/artifact-names.js';
import { resolveVmspawnConfig } from '../../src/vitest/config.js';
import { mergeMachineOptions } from '../../src/vitest/merge-options.js';

describe('artifact directory names', () => {
  test('file without test suffix, titles, retry and repeat', () => {
    expect(testArtifactsDirName({ file: 'test/e2e/boot.test.ts', titles: ['journal', 'logger output arrives'], retry: 0, repeat: 0 })).toBe(
      'test-e2e-boot-journal-logger-output-arrives',
    );
    expect(testArtifactsDirName({ file: 'a.spec.mts', titles: ['x'], retry: 2, repeat: 1 })).toBe('a-x-repeat1-retry2');
  });

  test('unsafe characters become dashes', () => {
    expect(testArtifactsDirName({ file: 'x.test.ts', titles: ['exit 42 → "status"/ok?'], retry: 0, repeat: 0 })).toBe('x-exit-42-status-ok');
  });

  test('long names are cut and stay distinct', () => {
    const long = (tail: string) => testArtifactsDirName({ file: 'x.test.ts', titles: ['y'.repeat(200) + tail], retry: 0, repeat: 0 });
    expect(long('a').length).toBeLessThanOrEqual(120);
    expect(long('a')).not.toBe(long('b'));
  });
});

describe('plugin options', () => {
  test('defaults and paths resolved against the root', () => {
    expect(resolveVmspawnConfig({}, '/proj', resolve)).toEqual({
      defaults: {},
      artifactsDir: '/proj/test-results',
      preserveArtifacts: 'failures-only',
      testTimeout: 180_000,
      prepareDefaultImage: true,
    });
  });

  test('a boot source in the defaults means no default image', () => {
    expect(resolveVmspawnConfig({ defaults: { image: '/os.qcow2' } }, '/proj', resolve).prepareDefaultImage).toBe(false);
  });

  test('typos in plugin options and machine defaults are errors', () => {
    expect(() => resolveVmspawnConfig({ artifactDir: 'x' }, '/', resolve)).toThrow(/artifactDir: unknown option \(did you mean artifactsDir\?\)/);
    expect(() => resolveVmspawnConfig({ defaults: { ram: '1Q' } }, '/', resolve)).toThrow(InvalidOptionsError);
    expect(() => resolveVmspawnConfig({ preserveArtifacts: 'sometimes' }, '/', resolve)).toThrow(/'failures-only', 'always' or 'never'/);
  });

  test('a test timeout a timer cannot hold is an error that says the maximum', () => {
    expect(() => resolveVmspawnConfig({ testTimeout: 2 ** 31 }, '/', resolve)).toThrow(/testTimeout: expected the test timeout of at most 2147483647 ms/);
  });
});

describe('merging test options over project defaults', () => {
  test('later layers win key by key; credentials merge by name', () => {
    expect(
      mergeMachineOptions(
        { ram: '1G', cpus: 2, setCredential: { a: '1', b: '2' } },
        { cpus: 4, setCredential: { b: 'two', c: '3' }, loadCredential: { d: '/d' } },
      ),
    ).toEqual({ ram: '1G', cpus: 4, setCredential: { a: '1', b: 'two', c: '3' }, loadCredential: { d: '/d' } });
  });
});
