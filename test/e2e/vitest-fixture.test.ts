/**
 * test.vm inside real vitest runs: small projects are written to disk, run by vitest in a child
 * process with the built package, and judged by their JSON report, their artifacts and the
 * processes they leave (none, also after a timeout or a SIGKILL of the runner).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { reapStaleRuntimeDirs } from '../../src/host/runtime-dir.js';
import { isRunning, processesMentioning, runtimeDirOf, startVitest, statuses, writeProject } from './helpers.js';

describe('test.vm in a vitest run', () => {
  test('results, modifiers, parameters, withVm and per-test artifacts', async () => {
    const dir = await writeProject('results', {
      'basics.test.ts': `
        import { expect, test as plain } from 'vitest';
        import { test } from 'vitest-vmspawn';
        test.vm('passes', { setCredential: { 'inline.value': 'v1' }, ram: '768M' }, async ({ vm }) => {
          expect((await vm.exec('cat /run/credentials/@system/inline.value')).stdout).toBe('v1');
        });
        test.vm('fails on purpose', async ({ vm }) => {
          await vm.exec(['logger', '-t', 'inline', 'logged before failing']);
          await vm.waitForJournal({ identifier: 'inline' });
          expect(1).toBe(2);
        });
        test.vm.skip('is skipped', async ({ vm }) => { throw new Error('must not run ' + vm.name); });
        test.vm.todo('is a todo');
        plain('a plain test boots nothing', () => {});
      `,
      'params.test.ts': `
        import { expect } from 'vitest';
        import { test } from 'vitest-vmspawn';
        test.vm.for([['a', 1]])('for %s %i', async ([letter, number], { vm }) => {
          expect((await vm.exec(['echo', letter + number])).stdout).toBe('a1');
        });
        test.vm.each([[2, 3]])('each %i+%i', async (a, b, { vm }) => {
          expect((await vm.exec('echo $((' + a + '+' + b + '))')).stdout).toBe('5');
        });
      `,
      'with-vm.test.ts': `
        import { expect, test as base } from 'vitest';
        import { withVm } from 'vitest-vmspawn';
        const test = withVm(base.extend('greeting', async () => 'hello fixture'));
        test.vm.only.concurrent('uses its own fixture and the vm', async ({ vm, greeting }) => {
          expect((await vm.exec(['echo', greeting])).stdout).toBe('hello fixture');
        });
        test.vm('left out by only', async ({ vm }) => { throw new Error('must not run ' + vm.name); });
      `,
    });
    const run = await startVitest(dir);
    const results = await statuses(dir);
    expect(results, String(run.all)).toMatchObject({
      passes: { status: 'passed' },
      'fails on purpose': { status: 'failed', failure: expect.stringContaining('expected 1 to be 2') },
      'is skipped': { status: 'skipped' },
      'is a todo': { status: 'todo' },
      'a plain test boots nothing': { status: 'passed' },
      'for a 1': { status: 'passed' },
      'each 2+3': { status: 'passed' },
      'uses its own fixture and the vm': { status: 'passed' },
      'left out by only': { status: 'skipped' },
    });
    expect(run.exitCode).toBe(1);

    // Artifacts: deleted for passing tests, kept (and complete) for the failing one.
    const artifacts = join(dir, 'artifacts');
    expect(existsSync(join(artifacts, 'basics-passes'))).toBe(false);
    expect(existsSync(join(artifacts, 'params-for-a-1'))).toBe(false);
    const kept = join(artifacts, 'basics-fails-on-purpose');
    for (const file of ['console.log', 'qemu-cmdline.txt', 'qemu.log', 'notify.log', 'journal.export', 'journal.journal', 'summary.json']) {
      expect(existsSync(join(kept, file)), file).toBe(true);
    }
    const journal = await execa('journalctl', ['--file', join(kept, 'journal.journal'), '-t', 'inline', '-o', 'cat']);
    expect(journal.stdout).toBe('logged before failing');
    // The default reporter shows the path with the failure.
    expect(String(run.all)).toMatch(/FAIL.*fails on purpose(.|\n)*VM artifacts \(kept if the test fails\): artifacts\/basics-fails-on-purpose/);
    expect(processesMentioning(dir)).toEqual([]);
  });

  test('a test that times out, in its body or during boot, leaves no machine behind', async () => {
    const dir = await writeProject('timeouts', {
      'timeout.test.ts': `
        import { writeFileSync } from 'node:fs';
        import { test } from 'vitest-vmspawn';
        test.vm('body hangs', { timeout: 60_000 }, async ({ vm }) => {
          writeFileSync('booted', vm.name);
          await new Promise(() => {});
        });
        test.vm('boot outlasts the timeout', { timeout: 3_000 }, async () => {});
      `,
    });
    const run = await startVitest(dir);
    const results = await statuses(dir);
    expect(results, String(run.all)).toMatchObject({ 'body hangs': { status: 'failed' }, 'boot outlasts the timeout': { status: 'failed' } });
    expect(String(run.all)).toMatch(/FAIL.*body hangs\n.*Test timed out in 60000ms/);
    expect(String(run.all)).toMatch(/FAIL.*boot outlasts the timeout\n.*Test timed out in 3000ms/);
    expect(existsSync(join(dir, 'booted'))).toBe(true);
    expect(existsSync(join(dir, 'artifacts', 'timeout-body-hangs', 'console.log'))).toBe(true);
    expect(processesMentioning(dir)).toEqual([]);
  });

  test('killing the runner with SIGKILL takes its machines down, and the next run reaps what is left', async () => {
    const dir = await writeProject('killed', {
      'killed.test.ts': `
        import { writeFileSync } from 'node:fs';
        import { test } from 'vitest-vmspawn';
        test.vm('runs until killed', { timeout: 600_000 }, async () => {
          writeFileSync('booted', '');
          await new Promise(() => {});
        });
      `,
    });
    const run = startVitest(dir);
    const deadline = Date.now() + 180_000;
    while (!existsSync(join(dir, 'booted')) && Date.now() < deadline) await sleep(250);
    expect(existsSync(join(dir, 'booted'))).toBe(true);
    const runtimeDirs = processesMentioning(join(dir, 'artifacts')).map(runtimeDirOf).filter((found) => found !== undefined);
    expect(runtimeDirs).toHaveLength(1);
    const [runtimeDir] = runtimeDirs as [string];
    // QEMU (named by its console log in the artifacts) and the vsock daemon (by its sockets).
    expect(processesMentioning(join(dir, 'artifacts'))).toHaveLength(1);
    expect(processesMentioning(runtimeDir)).toHaveLength(2);
    const worker = Number((await readFile(join(runtimeDir, 'owner'), 'utf8')).split(' ')[0]);
    expect(isRunning(worker)).toBe(true);

    run.kill('SIGKILL');
    await run;
    const deadline2 = Date.now() + 15_000;
    while ([...processesMentioning(dir), ...processesMentioning(runtimeDir)].length > 0 && Date.now() < deadline2) await sleep(100);
    expect(processesMentioning(dir)).toEqual([]);
    expect(processesMentioning(runtimeDir)).toEqual([]);

    // The orphaned worker ends too, deleting its private runtime directory on the way out.
    while (isRunning(worker) && Date.now() < deadline2) await sleep(100);
    expect(isRunning(worker)).toBe(false);
    await reapStaleRuntimeDirs();
    expect(existsSync(runtimeDir)).toBe(false);
  });
});
