/**
 * `check`'s pure parts: reading `systemd-analyze time`, the --allow patterns, the verdict and report
 * built from made-up facts, the human summary, and the JSON Schema file kept up to date.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllowPattern } from '../../src/check/allow-list.js';
import { buildCheckReport, describePowerOff, exitCodeOf } from '../../src/check/build-report.js';
import { checkReportJsonSchema, checkReportSchema, CHECK_NAMES } from '../../src/check/check-report.js';
import { formatCheckSummary } from '../../src/check/human-summary.js';
import { parseSystemdAnalyzeTime, parseTimespan } from '../../src/check/systemd-analyze.js';
import { toHaveNoEntries } from '../../src/matchers/journal-matchers.js';
import { checkFacts, journalEntry, shutdownExit } from './check-fixtures.js';

const SCHEMA_FILE = resolve(import.meta.dirname, '../../schemas/check-report.schema.json');

describe('systemd-analyze time', () => {
  test('time spans as systemd prints them', () => {
    expect(parseTimespan('1.203s')).toBe(1203);
    expect(parseTimespan('812ms')).toBe(812);
    expect(parseTimespan('1min 2.345s')).toBe(62_345);
    expect(parseTimespan('1h 2min 3s')).toBe(3_723_000);
    expect(parseTimespan('950us')).toBe(0.95);
    expect(parseTimespan('soon')).toBeUndefined();
    expect(parseTimespan('')).toBeUndefined();
  });

  test('a direct kernel boot with an initrd, and the default target', () => {
    const stdout = 'Startup finished in 1.203s (kernel) + 2.104s (initrd) + 10.417s (userspace) = 13.725s \nmulti-user.target reached after 10.380s in userspace.\n';
    expect(parseSystemdAnalyzeTime(stdout)).toEqual({
      stages: { kernel: 1203, initrd: 2104, userspace: 10_417 },
      totalMs: 13_725,
      target: { unit: 'multi-user.target', afterMs: 10_380 },
    });
  });

  test('a UEFI boot has firmware and loader; a boot without initrd has neither initrd', () => {
    const uefi = parseSystemdAnalyzeTime('Startup finished in 3.1s (firmware) + 1min 4.002s (loader) + 900ms (kernel) + 12.5s (userspace) = 1min 20.502s\n');
    expect(uefi).toEqual({ stages: { firmware: 3100, loader: 64_002, kernel: 900, userspace: 12_500 }, totalMs: 80_502, target: undefined });
  });

  test('a boot still finishing, or other output, gives nothing', () => {
    expect(parseSystemdAnalyzeTime('Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\nPlease try again later.\n')).toBeUndefined();
    expect(parseSystemdAnalyzeTime('Startup finished in lots (kernel) = 1s')).toBeUndefined();
    expect(parseSystemdAnalyzeTime('Startup finished in 1s (bios) = 1s')).toBeUndefined();
  });
});

describe('--allow', () => {
  test('patterns become matches as toHaveNoEntries({ allow }) takes them', () => {
    expect(parseAllowPattern('unit:systemd-networkd.service')).toEqual({ unit: 'systemd-networkd.service' });
    expect(parseAllowPattern('identifier:kernel:MMCONFIG|ACPI')).toEqual({ identifier: 'kernel', message: /MMCONFIG|ACPI/ });
    expect(parseAllowPattern('message:^Failed to .*: No such file')).toEqual({ message: /^Failed to .*: No such file/ });
    expect(parseAllowPattern('a:b')).toEqual({ message: /a:b/ });
  });

  test('a pattern lets pass the same entries in check as in toHaveNoEntries', () => {
    const journal = [
      journalEntry({ SYSLOG_IDENTIFIER: 'kernel', PRIORITY: '3', MESSAGE: 'MMCONFIG fail' }),
      journalEntry({ SYSLOG_IDENTIFIER: 'app', _SYSTEMD_UNIT: 'app.service', PRIORITY: '3', MESSAGE: 'bad thing' }),
    ];
    const allow = [parseAllowPattern('identifier:kernel')];
    const report = buildCheckReport(checkFacts({ journal, allow: { patterns: ['identifier:kernel'], matches: allow } }));
    expect(report.errorLines.disallowed.map((line) => line.message)).toEqual(['bad thing']);
    expect(report.errorLines.allowedCount).toBe(1);
    expect(toHaveNoEntries(journal, { priority: 'err', allow }).message()).toContain('found 1 (1 more were allowed)');
  });

  test('empty patterns and broken expressions are refused', () => {
    expect(() => parseAllowPattern('')).toThrow('--allow: the pattern is empty; use unit:NAME[:REGEX], identifier:NAME[:REGEX], message:REGEX or a bare REGEX.');
    expect(() => parseAllowPattern('message:')).toThrow('--allow "message:": the regular expression is empty (it would allow every line)');
    expect(() => parseAllowPattern('identifier:kernel:[')).toThrow(/--allow "identifier:kernel:\[": not a valid regular expression/);
  });
});

describe('the report and its verdict', () => {
  test('a healthy boot passes every check and exits 0', () => {
    const report = buildCheckReport(checkFacts());
    expect(checkReportSchema.parse(report)).toEqual(report);
    expect(report.verdict).toBe('healthy');
    expect(exitCodeOf(report)).toBe(0);
    expect(report.checks.map((check) => [check.name, check.status])).toEqual(CHECK_NAMES.map((name) => [name, 'passed']));
    expect(report.checks.find((check) => check.name === 'boot')?.summary).toBe('ready after 14.2 s');
    expect(report.boot.systemdAnalyze).toEqual({ available: true, stagesMs: { kernel: 1200, userspace: 10_400 }, totalMs: 11_600, target: { unit: 'multi-user.target', afterMs: 10_300 } });
    expect(report.powerOff).toEqual({ clean: true, endedBy: 'shutdown', exitStatus: 0, qemuExitCode: 0, qemuSignal: null, reason: 'shut down by shutdown(), EXIT_STATUS=0', durationMs: 2100 });
  });

  test('a failed unit is named with its last journal lines, and the system state fails with it', () => {
    const journal = [
      journalEntry({ _SYSTEMD_UNIT: 'broken.service', SYSLOG_IDENTIFIER: 'sh', MESSAGE: 'broken on purpose' }),
      journalEntry({ UNIT: 'broken.service', SYSLOG_IDENTIFIER: 'systemd', PRIORITY: '3', MESSAGE: 'Failed to start broken.service.' }),
      journalEntry({ _SYSTEMD_UNIT: 'other.service', SYSLOG_IDENTIFIER: 'other', MESSAGE: 'unrelated' }),
    ];
    const failedUnits = [{ unit: 'broken.service', load: 'loaded', active: 'failed', sub: 'failed', description: 'broken.service' }];
    const report = buildCheckReport(checkFacts({ journal, failedUnits, systemState: { state: 'degraded' } }));
    expect(report.verdict).toBe('degraded');
    expect(exitCodeOf(report)).toBe(1);
    expect(report.failedUnits).toEqual([
      expect.objectContaining({ unit: 'broken.service', active: 'failed', lastJournalLines: [expect.stringMatching(/ info sh\[1\] \(broken\.service\): broken on purpose$/), expect.stringMatching(/ err systemd\[1\] \(broken\.service\): Failed to start broken\.service\.$/)] }),
    ]);
    const byName = Object.fromEntries(report.checks.map((check) => [check.name, check]));
    expect(byName['failed-units']).toMatchObject({ status: 'failed', summary: '1 failed unit: broken.service' });
    expect(byName['failed-units']?.details[0]).toBe('broken.service (failed/failed):');
    expect(byName['system-state']).toMatchObject({ status: 'failed', summary: 'systemctl is-system-running: degraded' });
    expect(byName['error-lines']).toMatchObject({ status: 'failed', summary: '1 error line at priority err or above' });
  });

  test('a failed boot fails the boot check, skips the others and names what the boot error knew', () => {
    const report = buildCheckReport(
      checkFacts({
        bootFailure: { error: 'The guest did not become ready within 120000 ms.\nLast console lines: …', failedUnits: ['sshd.service'], journalErrors: ['sshd[80]: no host key'] },
        systemState: undefined,
        systemdAnalyze: undefined,
        failedUnits: undefined,
        journal: [],
        powerOff: undefined,
      }),
    );
    expect(report.verdict).toBe('degraded');
    expect(report.boot).toMatchObject({ ready: false, error: expect.stringContaining('did not become ready'), systemdAnalyze: { available: false, reason: 'the boot failed' } });
    expect(report.checks.map((check) => check.status)).toEqual(['failed', 'skipped', 'failed', 'skipped', 'skipped']);
    expect(report.checks[0]).toMatchObject({ summary: 'the boot failed: The guest did not become ready within 120000 ms.', details: expect.arrayContaining(['failed units: sshd.service', 'error: sshd[80]: no host key']) });
    expect(report.failedUnits.map((unit) => unit.unit)).toEqual(['sshd.service']);
    expect(report.powerOff).toBeNull();
    expect(checkReportSchema.safeParse(report).success).toBe(true);
  });

  test('systemd-analyze failing leaves the timings unavailable with the reason, without failing the image', () => {
    const report = buildCheckReport(checkFacts({ systemdAnalyze: { error: 'Bootup is not yet finished' } }));
    expect(report.verdict).toBe('healthy');
    expect(report.boot.systemdAnalyze).toEqual({ available: false, reason: 'Bootup is not yet finished' });
    expect(formatCheckSummary(report)).toContain('systemd-analyze: unavailable (Bootup is not yet finished)');
  });

  test.each([
    ['a guest that sent EXIT_STATUS=0', shutdownExit(), true, true],
    ['a non-zero EXIT_STATUS', shutdownExit({ exitStatus: 3, reason: 'shut down by shutdown(), EXIT_STATUS=3' }), true, false],
    ['QEMU quit after the timeout', shutdownExit({ exitStatus: undefined, reason: 'the guest did not power off within 20000 ms; QEMU was quit' }), true, false],
    ['QEMU killed', shutdownExit({ qemuExitCode: undefined, qemuSignal: 'SIGKILL' }), true, false],
    ['a crash', shutdownExit({ endedBy: 'crashed' }), true, false],
    ['no EXIT_STATUS on a machine with notify', shutdownExit({ exitStatus: undefined }), true, false],
    ['no EXIT_STATUS without vsock (none can arrive)', shutdownExit({ exitStatus: undefined, reason: 'shut down by shutdown()' }), false, true],
  ] as const)('power-off: %s', (_, exit, notifyAvailable, clean) => {
    expect(describePowerOff(exit, notifyAvailable).clean).toBe(clean);
  });

  test('the human summary: verdict first, failures with details, timings, artifacts last', () => {
    const failedUnits = [{ unit: 'broken.service', load: 'loaded', active: 'failed', sub: 'failed', description: '' }];
    const journal = [journalEntry({ _SYSTEMD_UNIT: 'broken.service', SYSLOG_IDENTIFIER: 'sh', MESSAGE: 'broken on purpose' })];
    const lines = formatCheckSummary(buildCheckReport(checkFacts({ failedUnits, journal, systemState: { state: 'degraded' } }))).split('\n');
    expect(lines[0]).toBe('DEGRADED: systemctl is-system-running: degraded; 1 failed unit: broken.service (the default image).');
    expect(lines).toContain('  ✗ failed-units: 1 failed unit: broken.service');
    expect(lines).toContain('      broken.service (failed/failed):');
    expect(lines.some((line) => /^ {8}\S.*sh\[1\] \(broken\.service\): broken on purpose$/.test(line))).toBe(true);
    expect(lines).toContain('  ✓ power-off: clean: shut down by shutdown(), EXIT_STATUS=0 in 2.1 s');
    expect(lines).toContain('Boot: kernel started 0.3 s · ready (READY=1) 14.2 s · SSH answered 15.0 s');
    expect(lines).toContain('systemd-analyze: kernel 1.2 s + userspace 10.4 s = 11.6 s; multi-user.target after 10.3 s in userspace');
    expect(lines.at(-2)).toBe('Artifacts: /project/art');
    expect(formatCheckSummary(buildCheckReport(checkFacts())).split('\n')[0]).toBe('HEALTHY: the default image booted, ran and powered off cleanly.');
  });
});

test('schemas/check-report.schema.json is the JSON Schema of the report (UPDATE_SCHEMAS=1 rewrites it)', async () => {
  const expected = `${JSON.stringify(checkReportJsonSchema(), null, 2)}\n`;
  if (process.env.UPDATE_SCHEMAS === '1') await writeFile(SCHEMA_FILE, expected);
  expect(await readFile(SCHEMA_FILE, 'utf8'), 'run UPDATE_SCHEMAS=1 vitest run --project unit test/unit/check-report.test.ts').toBe(expected);
  const schema = JSON.parse(expected) as { properties: Record<string, unknown>; required: string[] };
  expect(schema.properties.schemaVersion).toEqual({ type: 'number', const: 1 });
  expect(schema.required).toEqual(expect.arrayContaining(['schemaVersion', 'verdict', 'checks', 'failedUnits', 'errorLines', 'powerOff']));
});
