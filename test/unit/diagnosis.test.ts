import { statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { COREDUMP_MESSAGE_ID, coredumpsIn, describeCoredump } from '../../src/journal/coredumps.js';
import { lastErrorLines } from '../../src/journal/error-lines.js';
import { toJournalEntry } from '../../src/journal/journal-entry.js';
import { emergencyCause } from '../../src/machine/emergency-causes.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { debugModeOn, describeDebugShell, prepareDebugShell } from '../../src/vitest/debug-shell.js';
import { formatFailureReport, type FailureEvidence } from '../../src/vitest/failure-report.js';

test('the cause of emergency or rescue mode: asked for on the kernel command line', () => {
  const console = '[    0.000000] Linux version 6.12\n[    0.000000] Kernel command line: console=ttyS0 panic=-1 systemd.unit=rescue.target\n';
  expect(emergencyCause(console)).toMatch(/^the kernel command line asks for it \("systemd.unit=rescue.target"\)/);
  expect(emergencyCause('Kernel command line: root=/dev/vda rd.systemd.unit=emergency.target quiet')).toMatch(/"rd.systemd.unit=emergency.target"/);
  expect(emergencyCause('Kernel command line: console=ttyS0 single')).toMatch(/"single"/);
  // Words that merely contain a mode's name are no request.
  expect(emergencyCause('Kernel command line: console=ttyS0 rescue_timeout=5 systemd.unit=multi-user.target')).toBeUndefined();
});

test('the cause of emergency mode: a root device that never appeared, a failed switch to the root', () => {
  const timedOut =
    'Kernel command line: root=LABEL=nope\n[\x1b[0;1;31m TIME \x1b[0m] Timed out waiting for device \x1b[0;1;39mdev-disk-by\\x2dlabel-nope.device\x1b[0m - /dev/disk/by-label/nope.\n' +
    '[DEPEND] Dependency failed for initrd-root-fs.target\nYou are in emergency mode.';
  expect(emergencyCause(timedOut)).toMatch(/^the boot timed out waiting for device \/dev\/disk\/by-label\/nope \(/);
  // As a systemd 257 initrd printed it: the console shortens the line; the journal has it whole.
  const shortened = '[\x1b[0;1;31m TIME \x1b[0m] Timed out waiting for device \x1b[0;1;39mdev-d…\x1b[0mdisk/by-label/vmspawn-missing-root.\n';
  expect(emergencyCause(shortened)).toMatch(/^the boot timed out waiting for device dev-d…disk\/by-label\/vmspawn-missing-root \(/);
  const journal = ['Timed out waiting for device dev-disk-by\\x2dlabel-vmspawn\\x2dmissing\\x2droot.device - /dev/disk/by-label/vmspawn-missing-root.'];
  expect(emergencyCause(shortened, journal)).toMatch(/^the boot timed out waiting for device \/dev\/disk\/by-label\/vmspawn-missing-root \(/);
  expect(emergencyCause('[FAILED] Failed to start initrd-switch-root.service - Switch Root.')).toMatch(/^switching from the initrd to the root file system failed/);
  expect(emergencyCause('[  OK  ] Reached target multi-user.target')).toBeUndefined();
});

const entry = (fields: Record<string, string>) => toJournalEntry({ MESSAGE: '', ...fields });

test('the last error-priority journal lines, one line each with who logged them', () => {
  const entries = [
    entry({ MESSAGE: 'fine', PRIORITY: '6', SYSLOG_IDENTIFIER: 'app' }),
    entry({ MESSAGE: 'disk on fire', PRIORITY: '2', SYSLOG_IDENTIFIER: 'kernel', _TRANSPORT: 'kernel' }),
    entry({ MESSAGE: 'cannot bind\nport 80', PRIORITY: '3', SYSLOG_IDENTIFIER: 'app', _PID: '42' }),
    entry({ MESSAGE: 'a warning', PRIORITY: '4', SYSLOG_IDENTIFIER: 'app' }),
  ];
  expect(lastErrorLines(entries)).toEqual(['kernel: disk on fire', 'app[42]: cannot bind⏎port 80']);
  expect(lastErrorLines(entries, 1)).toEqual(['app[42]: cannot bind⏎port 80']);
  expect(lastErrorLines([entry({ MESSAGE: 'x'.repeat(500), PRIORITY: '3', SYSLOG_IDENTIFIER: 'a' })])[0]).toHaveLength(300);
});

test('coredumps from systemd-coredump journal entries', () => {
  const dumps = coredumpsIn([
    entry({ MESSAGE: 'Process 412 (sleep) of user 0 dumped core.', PRIORITY: '2' }),
    entry({
      MESSAGE_ID: COREDUMP_MESSAGE_ID,
      COREDUMP_EXE: '/usr/bin/sleep',
      COREDUMP_PID: '412',
      COREDUMP_SIGNAL: '6',
      COREDUMP_SIGNAL_NAME: 'SIGABRT',
      COREDUMP_UNIT: 'app.service',
      COREDUMP_FILENAME: '/var/lib/systemd/coredump/core.sleep.0.abc.412.1700000000000000.zst',
    }),
    entry({ MESSAGE_ID: COREDUMP_MESSAGE_ID, COREDUMP_COMM: 'sh', COREDUMP_SIGNAL: '11' }),
  ]);
  expect(dumps).toMatchObject([
    { executable: '/usr/bin/sleep', pid: 412, signal: 'SIGABRT', unit: 'app.service', guestFile: expect.stringMatching(/core\.sleep\..*\.zst$/) },
    { executable: 'sh', pid: undefined, signal: 'signal 11', guestFile: undefined },
  ]);
  expect(dumps.map(describeCoredump)).toEqual(['/usr/bin/sleep (pid 412, SIGABRT) in app.service', 'sh (signal 11)']);
});

const evidence: FailureEvidence = {
  state: 'running',
  upForMs: 45_210,
  readyAfterMs: 14_080,
  lastActiveUnit: 'ssh-access.target',
  status: undefined,
  exitReason: undefined,
  failedUnits: ['app.service'],
  journalErrors: ['app[42]: cannot bind⏎port 80'],
  journalErrorsLeftOut: 3,
  coredumps: [
    { executable: '/usr/bin/sleep', pid: 412, signal: 'SIGABRT', unit: undefined, guestFile: '/var/lib/systemd/coredump/core.sleep.zst', time: undefined, savedAs: 'test-results/a/coredumps/core.sleep.zst', notSaved: undefined },
  ],
  artifactsDir: 'test-results/a',
};

test('the failure report says where the machine was, what failed, what crashed and where the artifacts are', () => {
  expect(formatFailureReport(evidence)).toBe(
    [
      "The test's machine was running (up 45.2 s, ready after 14.1 s, last reached ssh-access.target).",
      'Failed units: app.service',
      'Crashes in the guest (systemd-coredump):',
      '    /usr/bin/sleep (pid 412, SIGABRT); core saved as test-results/a/coredumps/core.sleep.zst',
      "Errors in the guest's journal during the test (the last 1; 3 earlier left out):",
      '    app[42]: cannot bind⏎port 80',
      'Artifacts: test-results/a (journal: journalctl --file test-results/a/journal.journal)',
    ].join('\n'),
  );
  const ended = formatFailureReport({ ...evidence, state: 'exited', exitReason: 'QEMU was killed by SIGKILL', failedUnits: [], journalErrors: [], journalErrorsLeftOut: 0, coredumps: [], artifactsDir: undefined });
  expect(ended).toBe(
    "The test's machine was exited (up 45.2 s, ready after 14.1 s, last reached ssh-access.target); it ended: QEMU was killed by SIGKILL.\n" +
      "No errors in the guest's journal during the test.",
  );
});

test("a shared machine's test: the last lines of its part of the journal, after the errors that came before them", () => {
  const tail = { lines: ['12:00:01.234 app[42]: line 49'], total: 50, file: 'test-results/x.shared-vm/tests/t.journal.txt' };
  const report = formatFailureReport({ ...evidence, coredumps: [], journalTail: tail });
  expect(report).toContain("Errors in the guest's journal during the test, before the lines below (the last 1; 3 earlier left out):\n    app[42]: cannot bind⏎port 80\n");
  expect(report).toContain("The guest's journal during the test (the last 1 of 50 entries; all in test-results/x.shared-vm/tests/t.journal.txt):\n    12:00:01.234 app[42]: line 49\n");
  // No errors before the tail: the tail alone, once.
  const quiet = formatFailureReport({ ...evidence, journalErrors: [], journalErrorsLeftOut: 0, journalTail: { ...tail, total: 1 } });
  expect(quiet).not.toContain('Errors in');
  expect(quiet).not.toContain('No errors');
  expect(quiet.match(/journal during the test/g)).toHaveLength(1);
  expect(quiet).toContain('(1 entry; all in');
  expect(formatFailureReport({ ...evidence, journalErrors: [], journalErrorsLeftOut: 0, journalTail: { lines: [], total: 0, file: 'f' } })).toContain("The guest's journal during the test: no entries (f)");
});

test('debug mode: the environment variable wins over the plugin option', () => {
  expect(debugModeOn(undefined, {})).toBe(false);
  expect(debugModeOn(true, {})).toBe(true);
  expect(debugModeOn(undefined, { VMSPAWN_DEBUG: '1' })).toBe(true);
  expect(debugModeOn(true, { VMSPAWN_DEBUG: '0' })).toBe(false);
  expect(debugModeOn(false, { VMSPAWN_DEBUG: 'yes' })).toBe(true);
  expect(debugModeOn(false, { VMSPAWN_DEBUG: '' })).toBe(false);
});

test('debug mode: the ssh files are private, and the printed commands use them', async () => {
  const vm = {
    name: 'vm',
    artifactsDir: '/tmp/artifacts',
    sshAccess: { clientPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\n', hostPublicKey: 'ssh-ed25519 AAAA host', vsockSocket: '/run/x/vsock.sock' },
  } as unknown as StartedMachine;
  const shell = await prepareDebugShell(vm);
  try {
    expect(statSync(shell.directory).mode & 0o777).toBe(0o700);
    for (const file of ['id_ed25519', 'known_hosts', 'ssh_config', 'vsock-proxy.mjs', 'keep-running']) {
      expect(statSync(join(shell.directory, file)).mode & 0o777, file).toBe(0o600);
    }
    const config = await readFile(join(shell.directory, 'ssh_config'), 'utf8');
    expect(config).toContain(`ProxyCommand ${process.execPath} ${join(shell.directory, 'vsock-proxy.mjs')} /run/x/vsock.sock 22`);
    expect(await readFile(join(shell.directory, 'known_hosts'), 'utf8')).toBe('vitest-vmspawn-vm ssh-ed25519 AAAA host\n');
    expect(shell.sshCommand).toEqual(['ssh', '-F', join(shell.directory, 'ssh_config'), 'vitest-vmspawn-vm']);
    const text = describeDebugShell('my test', vm, shell);
    expect(text).toContain(`shell:    ssh -F ${join(shell.directory, 'ssh_config')} vitest-vmspawn-vm\n`);
    expect(text).toContain(`journal:  ssh -F ${join(shell.directory, 'ssh_config')} vitest-vmspawn-vm journalctl -f\n`);
    expect(text).toContain(`continue: rm ${shell.flagFile}`);
  } finally {
    await rm(shell.directory, { recursive: true, force: true });
  }
});

test('the failure report joins the test’s first error, in its message and its stack', async () => {
  const { attachFailureReport } = await import('../../src/vitest/failure-evidence.js');
  const task = {
    result: { state: 'fail', errors: [{ name: 'AssertionError', message: 'expected 1 to be 2', stack: 'AssertionError: expected 1 to be 2\n    at t.test.ts:3:5' }] },
  } as never as Parameters<typeof attachFailureReport>[0];
  attachFailureReport(task, 'VmDiagnosis', 'The machine was running ($& kept).');
  expect(task.result!.errors).toEqual([
    {
      name: 'AssertionError',
      message: 'expected 1 to be 2\n\nVmDiagnosis: The machine was running ($& kept).',
      stack: 'AssertionError: expected 1 to be 2\n\nVmDiagnosis: The machine was running ($& kept).\n    at t.test.ts:3:5',
    },
  ]);
  const passed = { result: { state: 'pass' } } as never as Parameters<typeof attachFailureReport>[0];
  attachFailureReport(passed, 'VmDiagnosis', 'x');
  expect(passed.result).toEqual({ state: 'pass' });
});
