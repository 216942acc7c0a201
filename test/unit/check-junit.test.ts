/**
 * The JUnit file of `check --junit`: one testcase per check, failures with their details, skipped
 * checks after a failed boot, text escaped. Validated with xmllint against the shape CI readers
 * take (fixtures/junit-check.xsd) where xmllint is installed (Debian: libxml2-utils), and always
 * by its structure.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { buildCheckReport } from '../../src/check/build-report.js';
import { CHECK_NAMES } from '../../src/check/check-report.js';
import { escapeXml, toJUnitXml } from '../../src/check/junit-report.js';
import { checkFacts, journalEntry } from './check-fixtures.js';

const XSD = resolve(import.meta.dirname, 'fixtures/junit-check.xsd');
const xmllint = await execa('xmllint', ['--version'], { reject: false }).then((result) => result.exitCode === 0, () => false);

const healthy = toJUnitXml(buildCheckReport(checkFacts()));
const degraded = toJUnitXml(
  buildCheckReport(
    checkFacts({
      failedUnits: [{ unit: 'broken.service', load: 'loaded', active: 'failed', sub: 'failed', description: '' }],
      systemState: { state: 'degraded' },
      journal: [journalEntry({ _SYSTEMD_UNIT: 'broken.service', SYSLOG_IDENTIFIER: 'sh', PRIORITY: '3', MESSAGE: 'a <tag> & "quotes" \u0001 here' })],
    }),
  ),
);
const bootFailed = toJUnitXml(
  buildCheckReport(checkFacts({ bootFailure: { error: 'QEMU exited', failedUnits: [], journalErrors: [] }, systemState: undefined, systemdAnalyze: undefined, failedUnits: undefined, journal: [], powerOff: undefined })),
);

function testcases(xml: string): Array<{ name: string; body: string }> {
  return [...xml.matchAll(/<testcase classname="vitest-vmspawn\.check" name="([^"]+)" time="[\d.]+"(?:\/>|>([\s\S]*?)<\/testcase>)/g)].map((match) => ({ name: match[1]!, body: match[2] ?? '' }));
}

describe('structure', () => {
  test('a healthy check: one passing testcase per check, counts and properties', () => {
    expect(healthy.split('\n').slice(0, 3)).toEqual([
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<testsuites name="vitest-vmspawn check" tests="5" failures="0" errors="0" time="21.000">',
      '  <testsuite name="check check-default-image (default-image: /cache/debian-trixie/abc)" tests="5" failures="0" errors="0" skipped="0" time="21.000" timestamp="2026-11-26T03:00:00" hostname="check-default-image">',
    ]);
    expect(testcases(healthy)).toEqual(CHECK_NAMES.map((name) => ({ name, body: '' })));
    expect(healthy).toContain('<testcase classname="vitest-vmspawn.check" name="boot" time="15.000"/>');
    expect(healthy).toContain('<testcase classname="vitest-vmspawn.check" name="power-off" time="2.100"/>');
    expect(healthy).toContain('<property name="verdict" value="healthy"/>');
    expect(healthy).toContain('<property name="artifactsDir" value="/project/art"/>');
  });

  test('a degraded check: failures with their details, escaped', () => {
    expect(degraded).toMatch(/<testsuites name="vitest-vmspawn check" tests="5" failures="3" errors="0"/);
    const cases = Object.fromEntries(testcases(degraded).map((testcase) => [testcase.name, testcase.body]));
    expect(cases['failed-units']).toMatch(/^\s*<failure message="1 failed unit: broken\.service" type="failed-units">1 failed unit: broken\.service\nbroken\.service \(failed\/failed\):\n {2}.*a &lt;tag&gt; &amp; &quot;quotes&quot; \uFFFD here<\/failure>\s*$/);
    expect(cases['system-state']).toContain('<failure message="systemctl is-system-running: degraded" type="system-state">');
    expect(cases['error-lines']).toContain('<failure message="1 error line at priority err or above" type="error-lines">');
    expect(cases.boot).toBe('');
  });

  test('a failed boot: the boot fails, the checks that could not run are skipped', () => {
    const cases = Object.fromEntries(testcases(bootFailed).map((testcase) => [testcase.name, testcase.body]));
    expect(cases.boot).toContain('<failure message="the boot failed: QEMU exited" type="boot">');
    expect(cases['system-state']).toContain('<skipped message="not run: the boot failed"/>');
    expect(cases['power-off']).toContain('<skipped message="not run: the boot failed"/>');
    expect(bootFailed).toMatch(/failures="1" errors="0" skipped="4"/);
  });

  test('escaping: markup characters, line breaks in attributes, characters XML cannot hold', () => {
    expect(escapeXml(`a<b>&"c"'d'\n\te`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;&#10;&#9;e');
    expect(escapeXml('line\nnext', 'text')).toBe('line\nnext');
    expect(escapeXml('\u0000\u001B[31m\uFFFF\uD800x😀')).toBe('\uFFFD\uFFFD[31m\uFFFD\uFFFDx😀');
  });
});

describe.skipIf(!xmllint)('validated by xmllint against the JUnit shape CI readers take', () => {
  test.each([
    ['healthy', healthy],
    ['degraded', degraded],
    ['boot failed', bootFailed],
  ])('%s', async (name, xml) => {
    const dir = await mkdtemp(join(tmpdir(), 'vmspawn-junit-'));
    try {
      const file = join(dir, `${name.replace(' ', '-')}.xml`);
      await writeFile(file, xml);
      const result = await execa('xmllint', ['--noout', '--schema', XSD, file], { reject: false });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toContain('validates');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the schema refuses what CI readers would not take', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmspawn-junit-'));
    try {
      const file = join(dir, 'bad.xml');
      await writeFile(file, healthy.replace('name="boot" time="15.000"', 'name="boot"'));
      const result = await execa('xmllint', ['--noout', '--schema', XSD, file], { reject: false });
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(/attribute 'time' is required/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
