import { describe, expect, test } from 'vitest';
import { resolve } from 'node:path';
import { InvalidOptionsError } from '../../src/errors.js';
import { testArtifactsDirName } from '../../src/vitest/artifact-names.js';
import { resolveVmspawnConfig } from '../../src/vitest/config.js';
import { mergeMachineOptions } from '../../src/vitest/merge-options.js';
import { rejectUnknownTestOptions, rejectUnusableTimeout, splitTestOptions } from '../../src/vitest/test-options.js';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return (error as InvalidOptionsError).problems.map((problem) => `${problem.option}: ${problem.message}`);
  }
  throw new Error('expected the options to be rejected');
}

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
      debug: false,
      bootProgress: true,
      runSummary: false,
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

  test('a typo in the machine defaults suggests and lists machine options, not the plugin options', () => {
    const problems = problemsOf(() => resolveVmspawnConfig({ defaults: { bootTimout: 1000 } }, '/', resolve));
    expect(problems).toEqual([expect.stringMatching(/^defaults\.bootTimout: unknown option \(did you mean bootTimeout\?\); known options: linux, initrd, /)]);
    expect(problems[0]).not.toMatch(/preserveArtifacts/);
    expect(problems[0]).not.toMatch(/artifactsDir/);
  });

  test('artifactsDir in the defaults points to the plugin option', () => {
    expect(problemsOf(() => resolveVmspawnConfig({ defaults: { artifactsDir: 'x' } }, '/', resolve))).toEqual([
      "defaults.artifactsDir: is chosen per test by the plugin: set the plugin's own artifactsDir (the root of the per-test directories)",
    ]);
  });

  test('a test timeout a timer cannot hold is an error that says the maximum', () => {
    expect(() => resolveVmspawnConfig({ testTimeout: 2 ** 31 }, '/', resolve)).toThrow(/testTimeout: expected the test timeout of at most 2147483647 ms/);
  });
});

describe('test.vm options', () => {
  test("vitest's options go to vitest, the rest to the machine", () => {
    expect(splitTestOptions({ timeout: 5, retry: 1, ram: '2G', tags: ['slow'] })).toEqual({
      testOptions: { timeout: 5, retry: 1, tags: ['slow'] },
      machineOptions: { ram: '2G' },
    });
  });

  test("a typo of one of vitest's options gets the same suggestion as a machine option's", () => {
    expect(problemsOf(() => rejectUnknownTestOptions({ timeot: 5000, rams: '1G' } as object))).toEqual([
      expect.stringMatching(/^timeot: unknown option \(did you mean timeout\?\); machine options: linux, .*; vitest's test options: timeout, retry, /),
      expect.stringMatching(/^rams: unknown option \(did you mean ram\?\)/),
    ]);
    expect(() => rejectUnknownTestOptions({ ram: '1G', cpus: 2 })).not.toThrow();
  });

  test('a test timeout a timer cannot hold is refused when the test is declared', () => {
    expect(problemsOf(() => rejectUnusableTimeout({ timeout: 2 ** 31 }))).toEqual([
      'timeout: expected at most 2147483647 ms (about 24.8 days, the longest a timer can wait), got 2147483648',
    ]);
    expect(() => rejectUnusableTimeout({ timeout: 2 ** 31 - 1 })).not.toThrow();
    expect(() => rejectUnusableTimeout({})).not.toThrow();
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
