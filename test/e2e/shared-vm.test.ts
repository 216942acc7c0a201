/**
 * useVm in a real vitest run (one worker, `isolate: false`, vitest's default 10 s hook timeout):
 * a machine shared by three tests of a file, one failing, booted once; a machine reused by two
 * files, booted once and reset between them; a boot that fails every test of its machine once;
 * a typo in the options, refused before anything boots.
 * Two boots in all, one after the other.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { processesMentioning } from './helpers.js';
import { startVitest, statuses, writeProject } from './inline-vitest.js';

// One worker for every file, so the two files of the reused machine meet in it; hookTimeout stays
// vitest's default, which the shared machine's shutdown must fit in.
const CONFIG = `
import { defineConfig } from 'vitest/config';
import { vmspawn } from 'vitest-vmspawn/plugin';
export default defineConfig({
  plugins: [vmspawn({ artifactsDir: 'artifacts' })],
  test: { include: ['*.test.ts'], maxWorkers: 1, isolate: false },
});
`;

/** Each test notes the guest's boot id, so the run's boots can be counted. */
const NOTE_BOOT = `
import { appendFileSync } from 'node:fs';
export async function noteBoot(group, vm) {
  const bootId = (await vm.exec('cat /proc/sys/kernel/random/boot_id')).stdout.trim();
  appendFileSync('boots.txt', group + ' ' + bootId + '\\n');
}
`;

const REUSED = (file: string) => `
  import { appendFileSync } from 'node:fs';
  import { describe, expect } from 'vitest';
  import { test as vmTest, useVm } from 'vitest-vmspawn';
  import { noteBoot } from './note-boot.js';
  describe('reused', () => {
    vmTest.vm.defaults({ setCredential: { 'describe.value': 'from the describe' } });
    const test = useVm({}, {
      reuse: 'worker',
      reset: async (vm) => {
        appendFileSync('resets.txt', '${file}\\n');
        await vm.exec('rm -f /root/marker');
      },
    });
    test('starts clean and leaves a marker', async ({ vm }) => {
      await noteBoot('reused', vm);
      expect((await vm.exec('cat /run/credentials/@system/describe.value')).stdout).toBe('from the describe');
      expect((await vm.exec('test -e /root/marker', { reject: false })).exitCode).toBe(1);
      await vm.exec('echo ${file} > /root/marker');
    });
  });
`;

test('a machine per file, reuse across files, and a failed boot', async () => {
  const dir = await writeProject('shared-vm', {
    'note-boot.js': NOTE_BOOT,
    'per-file.test.ts': `
      import { expect } from 'vitest';
      import { useVm } from 'vitest-vmspawn';
      import { noteBoot } from './note-boot.js';
      const test = useVm({ setCredential: { 'shared.value': 'v1' } });
      test('reads a credential', async ({ vm }) => {
        await noteBoot('per-file', vm);
        await vm.exec(['logger', '-t', 'slice', 'from the passing test']);
        await vm.waitForJournal({ identifier: 'slice', message: 'from the passing test' });
        expect((await vm.exec('cat /run/credentials/@system/shared.value')).stdout).toBe('v1');
      });
      test('fails on purpose', async ({ vm }) => {
        await noteBoot('per-file', vm);
        await vm.exec(['logger', '-t', 'slice', 'from the failing test']);
        await vm.waitForJournal({ identifier: 'slice', message: 'from the failing test' });
        expect(1).toBe(2);
      });
      test('cuts SSH off last', async ({ vm }) => {
        await noteBoot('per-file', vm);
        // The shutdown after this test finds SSH gone and must still fit in the 10 s afterAll hook.
        await vm.exec(\`systemd-run --on-active=1 --timer-property=AccuracySec=10ms sh -c 'systemctl stop "*ssh*.socket"; pkill -KILL sshd'\`);
        await expect.poll(() => vm.exec('true').then(() => 'answers', () => 'gone'), { timeout: 60_000, interval: 1_000 }).toBe('gone');
      });
    `,
    'reused-1.test.ts': REUSED('reused-1'),
    'reused-2.test.ts': REUSED('reused-2'),
    'boot-failure.test.ts': `
      import { useVm } from 'vitest-vmspawn';
      const test = useVm({ bootTimeout: 1 });
      test('first user of a machine that cannot boot', async ({ vm }) => { void vm; });
      test('second user of a machine that cannot boot', async ({ vm }) => { void vm; });
    `,
    'typo.test.ts': `
      import { useVm } from 'vitest-vmspawn';
      const test = useVm({ rams: '1G' });
      test('never runs', async ({ vm }) => { void vm; });
    `,
  });
  await writeFile(join(dir, 'vitest.config.ts'), CONFIG);
  const run = await startVitest(dir);
  const output = String(run.all);
  const results = await statuses(dir);
  expect(results, output).toMatchObject({
    'reads a credential': { status: 'passed' },
    'fails on purpose': { status: 'failed' },
    'cuts SSH off last': { status: 'passed' },
    'starts clean and leaves a marker': { status: 'passed' },
    'first user of a machine that cannot boot': { status: 'failed', failure: expect.stringMatching(/boot/i) },
    'second user of a machine that cannot boot': { status: 'failed' },
  });
  expect(output).not.toMatch(/Hook timed out/);
  // A typo in useVm's options fails the file as it is collected, naming the option it meant.
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as { testResults: Array<{ name: string; status: string; message: string }> };
  expect(report.testResults.find((file) => file.name.endsWith('typo.test.ts'))).toMatchObject({
    status: 'failed',
    message: expect.stringMatching(/^Invalid useVm options:\n {2}- rams: unknown option \(did you mean ram\?\)/),
  });
  expect(results['never runs']).toBeUndefined();

  // Boots: one for the three tests of per-file.test.ts, one for both reused files, reset once between them.
  const boots = (await readFile(join(dir, 'boots.txt'), 'utf8')).trim().split('\n').map((line) => line.split(' '));
  const bootsOf = (group: string) => new Set(boots.filter(([name]) => name === group).map(([, id]) => id));
  expect(boots.filter(([name]) => name === 'per-file')).toHaveLength(3);
  expect(bootsOf('per-file').size).toBe(1);
  expect(boots.filter(([name]) => name === 'reused')).toHaveLength(2);
  expect(bootsOf('reused').size).toBe(1);
  expect((await readFile(join(dir, 'resets.txt'), 'utf8')).trim().split('\n')).toHaveLength(1);

  // The failing test's report holds its own part of the journal, not its neighbours'.
  const failure = results['fails on purpose']!.failure;
  expect(failure).toMatch(/expected 1 to be 2/);
  expect(failure).toMatch(/Guest journal of the shared machine "vm" while this test ran .*per-file\.shared-vm\/tests\/fails-on-purpose\.journal\.txt/);
  expect(failure).toContain('slice[');
  expect(failure).toContain('from the failing test');
  expect(failure).not.toContain('from the passing test');

  // Artifacts: the file's directory is kept (a test failed), with every test's slice and an index.
  const kept = join(dir, 'artifacts', 'per-file.shared-vm');
  for (const file of ['console.log', 'journal.export', 'summary.json', 'tests.jsonl', 'tests/fails-on-purpose.journal.txt', 'tests/reads-a-credential.journal.txt']) {
    expect(existsSync(join(kept, file)), file).toBe(true);
  }
  expect(await readFile(join(kept, 'tests/reads-a-credential.journal.txt'), 'utf8')).toMatch(/slice\[\d+\]: from the passing test/);
  const index = (await readFile(join(kept, 'tests.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  expect(index.map((entry) => [entry.test, entry.state])).toEqual([
    ['reads a credential', 'pass'],
    ['fails on purpose', 'fail'],
    ['cuts SSH off last', 'pass'],
  ]);
  const log = await readFile(join(kept, 'vmspawn.log'), 'utf8');
  expect(log.match(/QEMU started/g)).toHaveLength(1);
  // Under the 10 s hook the guest got 5 s to power off, not its 20 s shutdownTimeout.
  expect(log).toContain('shutdown requested (timeout 5000 ms)');
  const summary = JSON.parse(await readFile(join(kept, 'summary.json'), 'utf8'));
  expect(summary.exit).toMatchObject({ endedBy: 'shutdown' });
  expect(output).toMatch(/VM artifacts of the shared machine \(kept if a test that uses it fails\): artifacts\/per-file\.shared-vm/);

  // The reused machine passed everywhere: its directory is gone, and it was shut down when the worker ended.
  const left = await readdir(join(dir, 'artifacts'));
  expect(left.filter((name) => name.startsWith('reused'))).toEqual([]);
  // The failed boot kept its directory, with the one attempt.
  const failedBoot = await readFile(join(dir, 'artifacts', 'boot-failure.shared-vm', 'vmspawn.log'), 'utf8');
  expect(failedBoot.match(/QEMU started/g)).toHaveLength(1);
  expect(results['second user of a machine that cannot boot']!.failure).toBe(results['first user of a machine that cannot boot']!.failure);
  expect(processesMentioning(dir)).toEqual([]);
}, 420_000);
