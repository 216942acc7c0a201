/**
 * test.vm inside real vitest runs: small projects are written to disk, run by vitest in a child
 * process with the built package, and judged by their JSON report, their artifacts and the
 * processes they leave (none). Runs that time out or are killed are in faults.test.ts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { processesMentioning } from './helpers.js';
import { assertionResults, REPO, startVitest, statuses, writeProject } from './inline-vitest.js';

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
    expect(String(run.all)).toMatch(/FAIL.*fails on purpose(.|\n)*VM artifacts: artifacts\/basics-fails-on-purpose/);
    expect(processesMentioning(dir)).toEqual([]);
    // Several boots in a child run, beside the parent run's own guests: 3–4 minutes on two cores under TCG.
  }, 540_000);

  test('reports: artifacts paths in JSON, JUnit and merged shard reports, none for a passing test, a boot failure printed once, the vm tag', async () => {
    const dir = await writeProject('reports', {
      'reports.test.ts': `
        import { expect, test as plain } from 'vitest';
        import { test } from 'vitest-vmspawn';
        test.vm('passes', async ({ vm }) => {
          expect((await vm.exec(['echo', 'ok'])).stdout).toBe('ok');
        });
        // The kernel finds no init and panics: a BootError a few seconds into the boot.
        test.vm('boot fails', { kernelArgs: ['rdinit=/nonexistent'] }, async ({ vm }) => {
          throw new Error('must not run ' + vm.name);
        });
        plain('a plain test is left out by the tag filter', () => {});
      `,
    });
    const vitest = join(REPO, 'node_modules/.bin/vitest');
    const artifacts = join(dir, 'artifacts', 'shard-1-of-1');

    // Collecting boots nothing: no artifacts, no machine, and the VM tests carry the vm tag.
    const listed = await execa(vitest, ['list', '--root', dir, '--json', '--tags-filter=vm'], { cwd: dir, reject: false, all: true });
    expect(JSON.parse(listed.stdout).map((entry: { name: string }) => entry.name), String(listed.all)).toEqual(['passes', 'boot fails']);
    expect(existsSync(join(dir, 'artifacts'))).toBe(false);

    const run = await startVitest(dir, {
      reporter: 'verbose',
      args: ['--tags-filter=vm', '--shard=1/1', '--reporter=junit', `--outputFile.junit=${join(dir, 'junit.xml')}`, '--reporter=blob', `--outputFile.blob=${join(dir, 'blobs', 'blob-1.json')}`],
    });
    const output = String(run.all);
    expect(await statuses(dir), output).toMatchObject({
      passes: { status: 'passed' },
      'boot fails': { status: 'failed', failure: expect.stringMatching(/^BootError: The guest kernel panicked/) },
      'a plain test is left out by the tag filter': { status: 'skipped' },
    });
    const kept = join(artifacts, 'reports-boot-fails');
    expect(existsSync(join(kept, 'console.log'))).toBe(true);
    expect(existsSync(join(artifacts, 'reports-passes'))).toBe(false);

    // JSON: the kept directory in the failed test's meta, nothing on the passing one; the vm tag on both.
    const json = await assertionResults(join(dir, 'report.json'));
    expect(json['boot fails']).toMatchObject({ meta: { 'vitest-vmspawn:artifacts': kept }, tags: ['vm'] });
    expect(json.passes?.meta).not.toHaveProperty('vitest-vmspawn:artifacts');
    expect(json.passes?.tags).toEqual(['vm']);
    // JUnit: the path as a property of the failed test case only.
    const junit = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(junit).toContain('<property name="vitest-vmspawn" value="VM artifacts: artifacts/shard-1-of-1/reports-boot-fails">');
    expect(junit.match(/VM artifacts/g)).toHaveLength(1);
    // The terminal: the path with the failure, no path that is gone, the console tail once.
    expect(output).toContain('VM artifacts: artifacts/shard-1-of-1/reports-boot-fails');
    expect(output).not.toContain('reports-passes');
    // The verbose reporter shows a failure's message beside the test too; the failure report holds it once.
    const failureReport = output.slice(output.indexOf('FAIL'));
    expect(failureReport.match(/Last console lines:/g), output).toHaveLength(1);
    expect(output).not.toContain('consoleTail');
    expect(output.match(/vitest-vmspawn: accelerator:/g)).toHaveLength(1);

    // A merge of the shards' blob reports (here one) carries the path too.
    const merged = await execa(vitest, ['--root', dir, '--merge-reports=blobs', '--reporter=json', `--outputFile.json=${join(dir, 'merged.json')}`], { cwd: dir, reject: false, all: true });
    expect((await assertionResults(join(dir, 'merged.json')))['boot fails'], String(merged.all)).toMatchObject({ meta: { 'vitest-vmspawn:artifacts': kept } });
    expect(processesMentioning(dir)).toEqual([]);
  }, 300_000);
});
