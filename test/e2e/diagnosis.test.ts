/**
 * What a user sees when a VM test goes wrong: a boot in rescue mode, or in a systemd initrd's
 * emergency mode after its root device never appeared, fails at once and says why; a
 * failed test reports its machine (state, errors, crashes with their cores) and, in debug mode,
 * keeps the machine for a shell until the printed flag file is deleted; boot progress and the
 * end-of-run summary show in the same run. Three boots in all (one of them UEFI).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { BootError } from '../../src/errors.js';
import { Machine } from '../../src/machine/machine.js';
import { IMAGE_BUILD_TIMEOUT, image, processesMentioning, uefi, useWorkDir } from './helpers.js';
import { startVitest, statuses, writeProject } from './inline-vitest.js';

const workDir = useWorkDir('vmspawn-e2e-diagnosis-');

test('a guest booted into rescue mode fails the boot at once, naming the kernel argument and the journal errors', async () => {
  const { initramfs } = await image();
  const artifactsDir = join(workDir(), 'rescue');
  const started = Date.now();
  const options = { ...initramfs, kernelArgs: [...initramfs.kernelArgs, 'systemd.unit=rescue.target'], artifactsDir, bootTimeout: 200_000 };
  const failure = (await new Machine(options).start().then(
    () => {
      throw new Error('expected the boot to fail');
    },
    (error: unknown) => error,
  )) as BootError;
  expect(failure).toBeInstanceOf(BootError);
  expect(failure.message).toMatch(/^The guest's systemd entered rescue mode/);
  expect(failure.message).toMatch(/\nCause: the kernel command line asks for it \("systemd.unit=rescue.target"\)/);
  expect(failure.message).toMatch(/\nLast console lines:\n/);
  expect(failure.journalErrors).toEqual(expect.any(Array));
  if (failure.journalErrors.length > 0) expect(failure.message).toContain(`Last errors in the journal:\n    ${failure.journalErrors[0]}`);
  // READY=1 in rescue mode came long before bootTimeout, and the boot did not wait for SSH.
  expect(Date.now() - started).toBeLessThan(120_000);
  expect(processesMentioning(artifactsDir)).toEqual([]);
});

test('a systemd initrd whose root device never appears: emergency mode, naming the device', async () => {
  const { disk } = await uefi();
  const artifactsDir = join(workDir(), 'missing-root');
  // The initrd's device timeout cut from 90 s to 5 s, so the boot fails soon.
  const kernelArgs = ['root=LABEL=vmspawn-missing-root', 'rd.systemd.default_device_timeout_sec=5'];
  const failure = (await new Machine({ image: disk, kernelArgs, artifactsDir, bootTimeout: 400_000 }).start().then(
    () => {
      throw new Error('expected the boot to fail');
    },
    (error: unknown) => error,
  )) as BootError;
  expect(failure).toBeInstanceOf(BootError);
  expect(failure.message).toMatch(/^The guest's systemd entered emergency mode/);
  expect(failure.message).toMatch(/\nCause: the boot timed out waiting for device \/dev\/disk\/by-label\/vmspawn-missing-root /);
  expect(processesMentioning(artifactsDir)).toEqual([]);
}, IMAGE_BUILD_TIMEOUT);

test('a failed test reports its machine and its crashes; debug mode keeps the machine for ssh until the flag file goes', async () => {
  const dir = await writeProject('diagnosis', {
    'vitest.config.ts': `
      import { defineConfig } from 'vitest/config';
      import { vmspawn } from 'vitest-vmspawn/plugin';
      export default defineConfig({ plugins: [vmspawn({ artifactsDir: 'artifacts', runSummary: true })], test: { include: ['*.test.ts'] } });
    `,
    'crash.test.ts': `
      import { expect } from 'vitest';
      import { test } from 'vitest-vmspawn';
      test.vm('crashes and fails', async ({ vm }) => {
        await vm.exec(['logger', '-p', 'user.err', '-t', 'myapp', 'could not open the widget']);
        // The signal waits until the child runs sleep: sent earlier, it would hit the forked shell.
        await vm.exec('sleep 100 & until [ "$(readlink /proc/$!/exe)" = /usr/bin/sleep ]; do sleep 0.1; done; kill -ABRT $!; wait', { reject: false });
        expect('the widget').toBe('open');
      });
    `,
  });
  const run = startVitest(dir, { env: { VMSPAWN_DEBUG: '1' } });
  let output = '';
  run.all!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 400_000;
  // Waits for the debug lines (or the end of the run, which would be a failure), as output arrives.
  while (!/continue: rm (\S+)/.test(output) && run.exitCode === null && Date.now() < deadline) {
    await Promise.race([new Promise((resolve) => run.all!.once('data', resolve)), run]);
  }
  let flagFile: string | undefined;
  let result: Awaited<typeof run>;
  try {
    flagFile = /continue: rm (\S+)/.exec(output)?.[1];
    const shellCommand = /shell: +(ssh .*)$/m.exec(output)?.[1];
    const journalCommand = /journal: +(ssh .*)$/m.exec(output)?.[1];
    expect(shellCommand && journalCommand && flagFile, output).toBeTruthy();

    // The printed commands reach the kept machine.
    const [ssh, ...args] = shellCommand!.split(' ');
    const hostname = await execa(ssh!, [...args, 'cat', '/proc/sys/kernel/hostname'], { timeout: 60_000 });
    expect(hostname.stdout).toBe('vm');
    const [sshJournal, ...journalArgs] = journalCommand!.split(' ');
    const follow = execa(sshJournal!, journalArgs, { reject: false, all: true });
    let followed = '';
    follow.all!.on('data', (chunk: Buffer) => {
      followed += chunk.toString();
    });
    const marker = `followed-${Date.now()}`;
    await execa(ssh!, [...args, 'logger', '-t', 'debugger', marker], { timeout: 60_000 });
    while (!followed.includes(marker) && follow.exitCode === null) {
      await Promise.race([new Promise((resolve) => follow.all!.once('data', resolve)), follow]);
    }
    expect(followed).toContain(marker);
    follow.kill();
    await follow;
  } finally {
    // Deleting the flag file lets the run finish; a run that never printed it is stopped.
    if (flagFile) await rm(flagFile, { force: true });
    else run.kill();
    result = await run;
  }
  const keyDir = join(flagFile!, '..');
  // The child's reporter colours its output even without a terminal.
  const all = stripVTControlCharacters(String(result.all));
  expect(existsSync(keyDir)).toBe(false);
  expect(all).toMatch(/"crashes and fails" goes on \(the flag file was deleted\)/);

  const results = await statuses(dir);
  const failure = results['crashes and fails']?.failure ?? '';
  expect(failure, all).toContain("expected 'the widget' to be 'open'");
  expect(failure).toMatch(/The test's machine was running \(up \d+\.\d s, ready after \d+\.\d s, last reached [\w.-]+(, status "[^"]*")?\)/);
  expect(failure).toMatch(/Crashes in the guest \(systemd-coredump\):\n {4}\/usr\/bin\/sleep \(pid \d+, SIGABRT\).*; core saved as artifacts\/crash-crashes-and-fails\/coredumps\/core\.sleep\.\S+/);
  expect(failure).toMatch(/Errors in the guest's journal during the test.*:\n(.*\n)* {4}myapp\[\d+\]: could not open the widget/);
  expect(failure).toContain('Artifacts: artifacts/crash-crashes-and-fails');
  // The default reporter shows the report with the failure. (The crash's annotation is not checked: the
  // test fails right after the crash, usually before systemd-coredump has logged it; the report waits for it.)
  expect(all).toMatch(/VmDiagnosis: The test's machine was running/);
  // Boot progress, one line per stage as the boot went, and the end-of-run summary.
  const progress = [...all.matchAll(/^vitest-vmspawn: crash\.test\.ts > crashes and fails: (.+) \(\d+\.\d s\)$/gm)].map((match) => match[1]);
  expect(progress).toEqual(['QEMU started', 'kernel started', 'initrd/init running', 'basic.target reached', 'ready (READY=1)', 'SSH answered']);
  expect(all).toMatch(/vitest-vmspawn: 1 VM test\n {2}failed crash\.test\.ts > crashes and fails: booted in \d+\.\d s, ended by shutdown \(exit status 0\), artifacts: artifacts\/crash-crashes-and-fails/);
  const cores = readdirSync(join(dir, 'artifacts', 'crash-crashes-and-fails', 'coredumps'));
  expect(cores).toEqual([expect.stringMatching(/^core\.sleep\./)]);
  // The core as the guest stored it: zstd-compressed (or a plain ELF core where compression is off).
  const magic = readFileSync(join(dir, 'artifacts', 'crash-crashes-and-fails', 'coredumps', cores[0]!)).subarray(0, 4).toString('hex');
  expect(['28b52ffd', '7f454c46']).toContain(magic);
  expect(processesMentioning(dir)).toEqual([]);
}, 540_000);
