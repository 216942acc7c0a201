import { expect, test } from 'vitest';
import { BootProgress, consoleStage, notifyStage, type BootStage } from '../../src/machine/boot-progress.js';
import { parseNotifyFields } from '../../src/notify/notify-message.js';
import { formatStageLine } from '../../src/vitest/boot-progress-lines.js';
import { formatSummaryLine } from '../../src/vitest/summary-reporter.js';

const message = (raw: string) => ({ time: 0, raw, fields: parseNotifyFields(raw) });

test('boot stages from console lines and notify messages', () => {
  expect(consoleStage('[    0.000000] Linux version 6.12.57+deb13-cloud-amd64 (debian-kernel@lists.debian.org)')).toBe('kernel');
  expect(consoleStage('[    1.873015] Run /init as init process')).toBe('init');
  expect(consoleStage('[    2.1] systemd[1]: Running in initrd.')).toBe('init');
  expect(consoleStage('[  OK  ] Reached target basic.target')).toBeUndefined();
  expect(notifyStage(message('X_SYSTEMD_UNIT_ACTIVE=basic.target'))).toBe('basic');
  expect(notifyStage(message('READY=1\nSTATUS=Startup finished'))).toBe('ready');
  expect(notifyStage(message('X_SYSTEMD_UNIT_ACTIVE=sysinit.target'))).toBeUndefined();
});

test('each stage is reported once, and never after a later one', () => {
  const stages: BootStage[] = [];
  let now = 0;
  const progress = new BootProgress((stage) => stages.push(stage), () => now);
  progress.reach('qemu');
  now = 1200;
  progress.reach('kernel');
  progress.reach('kernel');
  now = 9000;
  progress.reach('ready');
  progress.reach('basic'); // read late from the console: already behind
  now = 11000;
  progress.reach('ssh');
  expect(stages.map((stage) => [stage.stage, stage.afterMs])).toEqual([
    ['qemu', 0],
    ['kernel', 1200],
    ['ready', 9000],
    ['ssh', 11000],
  ]);
  expect(formatStageLine('a.test.ts > boots', stages[1]!)).toBe('vitest-vmspawn: a.test.ts > boots: kernel started (1.2 s)\n');
});

test('a line of the end-of-run summary', () => {
  expect(formatSummaryLine('a.test.ts > boots', 'failed', { bootMs: 13_840, exitStatus: 0, endedBy: 'shutdown', artifactsDir: 'test-results/a-boots' })).toBe(
    '  failed a.test.ts > boots: booted in 13.8 s, ended by shutdown (exit status 0), artifacts: test-results/a-boots',
  );
  expect(formatSummaryLine('b', 'passed', { bootMs: undefined, exitStatus: undefined, endedBy: undefined, artifactsDir: undefined })).toBe(
    '  passed b: boot time unknown, still running, artifacts deleted',
  );
  // A test on a shared machine: the machine ends after the test, so the line names it instead.
  const shared = { bootMs: 13_840, exitStatus: undefined, endedBy: undefined, sharedMachine: 'c.test.ts (shared)' };
  expect(formatSummaryLine('c.test.ts > reads', 'passed', { ...shared, artifactsDir: undefined })).toBe(
    '  passed c.test.ts > reads: shared machine c.test.ts (shared), booted in 13.8 s, artifacts not kept for this test',
  );
  expect(formatSummaryLine('c.test.ts > fails', 'failed', { ...shared, artifactsDir: 'test-results/c.shared-vm' })).toBe(
    '  failed c.test.ts > fails: shared machine c.test.ts (shared), booted in 13.8 s, artifacts: test-results/c.shared-vm',
  );
});

test('the plugin options of progress, summary and debug mode take booleans', async () => {
  const { resolveVmspawnConfig } = await import('../../src/vitest/config.js');
  const { resolve } = await import('node:path');
  expect(resolveVmspawnConfig({ bootProgress: false, runSummary: true, debug: true }, '/p', resolve)).toMatchObject({ bootProgress: false, runSummary: true, debug: true });
  expect(() => resolveVmspawnConfig({ runSummary: 'yes' }, '/p', resolve)).toThrow(/runSummary: expected true or false/);
  expect(() => resolveVmspawnConfig({ degub: true }, '/p', resolve)).toThrow(/debug/);
});
