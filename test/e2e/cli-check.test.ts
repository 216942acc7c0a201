/**
 * `vitest-vmspawn check` on two real boots, run in-process as the CLI runs it: the default image is
 * healthy (exit 0, a JSON report the schema accepts, a JUnit file with one passing testcase per
 * check, the artifacts in the directory it names); with a unit that fails added by credentials it is
 * degraded (exit 1), naming the unit with its last journal lines, while `--allow` lets that unit's
 * error lines pass.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { checkReportSchema, CHECK_NAMES } from '../../src/check/check-report.js';
import { command } from '../../src/cli/commands/check.js';
import { runCliCommand } from '../support/run-cli-command.js';
import { useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-cli-check-');

/** Runs `check` with `argv`, as the CLI would, and collects what it printed. */
async function check(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await runCliCommand(command, argv, { cwd: workDir() });
  return { exitCode: code, stdout, stderr };
}

function testcases(xml: string): Array<{ name: string; body: string }> {
  return [...xml.matchAll(/<testcase classname="vitest-vmspawn\.check" name="([^"]+)" time="[\d.]+"(?:\/>|>([\s\S]*?)<\/testcase>)/g)].map((match) => ({ name: match[1]!, body: match[2] ?? '' }));
}

test('the default image is healthy: exit 0, a valid JSON report, a JUnit file and the artifacts', async () => {
  const { exitCode, stdout, stderr } = await check(['--json', '--junit', 'reports/check.xml', '--artifacts', 'healthy']);
  expect(exitCode, `${stdout}\n${stderr}`).toBe(0);
  const report = checkReportSchema.parse(JSON.parse(stdout));
  expect(report.verdict).toBe('healthy');
  expect(report.checks.map((check) => [check.name, check.status])).toEqual(CHECK_NAMES.map((name) => [name, 'passed']));
  expect(report.machine.source.kind).toBe('default-image');
  expect(report.systemState).toBe('running');
  expect(report.failedUnits).toEqual([]);
  expect(report.boot.stages.map((stage) => stage.stage)).toEqual(expect.arrayContaining(['qemu', 'kernel', 'ready', 'ssh']));
  expect(report.boot.systemdAnalyze).toMatchObject({ available: true, stagesMs: { kernel: expect.any(Number), userspace: expect.any(Number) } });
  expect(report.powerOff).toMatchObject({ clean: true, endedBy: 'shutdown', exitStatus: 0, qemuExitCode: 0 });
  expect(report.artifactsDir).toBe(join(workDir(), 'healthy'));

  const xml = await readFile(join(workDir(), 'reports/check.xml'), 'utf8');
  expect(xml).toMatch(/<testsuites name="vitest-vmspawn check" tests="5" failures="0" errors="0"/);
  expect(testcases(xml)).toEqual(CHECK_NAMES.map((name) => ({ name, body: '' })));

  const artifacts = await readdir(report.artifactsDir);
  expect(artifacts).toEqual(expect.arrayContaining(['check-report.json', 'summary.txt', 'console.log', 'summary.json']));
  expect(JSON.parse(await readFile(join(report.artifactsDir, 'check-report.json'), 'utf8'))).toEqual(report);
  expect(await readFile(join(report.artifactsDir, 'summary.txt'), 'utf8')).toMatch(/^HEALTHY: the default image booted/);
});

test('a failing unit makes the image degraded: exit 1, naming the unit with its journal lines', async () => {
  // Written as on a shell command line: vmspawn's C escapes (\n) in the credential values.
  const unit = String.raw`[Service]\nType=oneshot\nExecStart=/bin/sh -c "echo broken on purpose; exit 1"\n`;
  const wants = String.raw`[Unit]\nWants=broken.service\n`;
  const { exitCode, stdout, stderr } = await check([
    `--set-credential=systemd.extra-unit.broken.service:${unit}`,
    `--set-credential=systemd.unit-dropin.multi-user.target~broken:${wants}`,
    '--allow',
    'unit:broken.service',
    '--junit',
    'degraded.xml',
    '--artifacts',
    'degraded',
  ]);
  expect(exitCode, `${stdout}\n${stderr}`).toBe(1);
  const [verdict] = stdout.split('\n');
  expect(verdict).toMatch(/^DEGRADED: .*1 failed unit: broken\.service/);
  expect(stdout).toContain('✗ failed-units: 1 failed unit: broken.service');
  expect(stdout).toMatch(/broken\.service \(failed\/failed\):\n[\s\S]*broken on purpose/);
  expect(stdout).toContain('✗ system-state: systemctl is-system-running: degraded');
  // The unit's own error lines are allowed; the power-off is still clean.
  expect(stdout).toMatch(/✓ error-lines: no error lines \(\d+ allowed\)/);
  expect(stdout).toMatch(/✓ power-off: clean/);
  expect(stdout).toContain(`Artifacts: ${join(workDir(), 'degraded')}`);

  const report = checkReportSchema.parse(JSON.parse(await readFile(join(workDir(), 'degraded', 'check-report.json'), 'utf8')));
  expect(report.verdict).toBe('degraded');
  expect(report.failedUnits.map((failed) => failed.unit)).toEqual(['broken.service']);
  expect(report.errorLines.allowedCount).toBeGreaterThan(0);

  const cases = testcases(await readFile(join(workDir(), 'degraded.xml'), 'utf8'));
  expect(cases.find((testcase) => testcase.name === 'failed-units')?.body).toMatch(/<failure message="1 failed unit: broken\.service" type="failed-units">[\s\S]*broken on purpose/);
  expect(cases.find((testcase) => testcase.name === 'boot')?.body).toBe('');
});
