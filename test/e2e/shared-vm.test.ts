/**
 * useVm in a real vitest run (one worker, `isolate: false`, vitest's default 10 s hook timeout):
 * a machine shared by three tests of a file, one failing, booted once; a machine reused by two
 * files, booted once and reset between them; a boot that fails every test of its machine once;
 * a typo in the options, refused before anything boots. The shared tests get what test.vm tests
 * get: the vm tag (the run filters on it), boot progress, the run's announcements once, the
 * failure report of their own time, the kept directory in the reports and the run summary.
 * Two boots in all, one after the other.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { processesMentioning } from './helpers.js';
import { assertionResults, startVitest, statuses, writeProject } from './inline-vitest.js';

// One worker for every file, so the two files of the reused machine meet in it; hookTimeout stays
// vitest's default, which the shared machine's shutdown must fit in.
const CONFIG = `
import { defineConfig } from 'vitest/config';
import { vmspawn } from 'vitest-vmspawn/plugin';
export default defineConfig({
  plugins: [vmspawn({ artifactsDir: 'artifacts', runSummary: true })],
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
      import { expect, test as plain } from 'vitest';
      import { useVm } from 'vitest-vmspawn';
      import { noteBoot } from './note-boot.js';
      const test = useVm({ setCredential: { 'shared.value': 'v1' } });
      const CRASH = (exe) => \`cp /usr/bin/sleep \${exe}; \${exe} 100 & until [ "$(readlink /proc/$!/exe)" = \${exe} ]; do sleep 0.1; done; kill -ABRT $!; wait\`;
      test('reads a credential', async ({ vm }) => {
        await noteBoot('per-file', vm);
        // An error line and a crash of its own, which the failing test's report must not show.
        await vm.exec(['logger', '-p', 'user.err', '-t', 'slice', 'error from the passing test']);
        await vm.exec(CRASH('/root/napper'), { reject: false });
        await vm.waitForJournal({ fields: { COREDUMP_EXE: /napper/ } }, { timeout: 30_000 });
        await vm.exec(['logger', '-t', 'slice', 'from the passing test']);
        await vm.waitForJournal({ identifier: 'slice', message: 'from the passing test' });
        expect((await vm.exec('cat /run/credentials/@system/shared.value')).stdout).toBe('v1');
      });
      test('fails on purpose', async ({ vm }) => {
        await noteBoot('per-file', vm);
        // An error line, then more lines than the report lists whole, then a crash.
        await vm.exec(['logger', '-p', 'user.err', '-t', 'slice', 'error from the failing test']);
        await vm.exec('for i in $(seq 45); do logger -t filler "filler $i"; done');
        await vm.exec(CRASH('/root/crasher'), { reject: false });
        await vm.exec(['logger', '-t', 'slice', 'from the failing test']);
        await vm.waitForJournal({ identifier: 'slice', message: 'from the failing test' });
        expect(1).toBe(2);
      });
      plain('a plain test is left out by the tag filter', () => {});
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
  const run = await startVitest(dir, { args: ['--tags-filter=vm', '--reporter=junit', `--outputFile.junit=${join(dir, 'junit.xml')}`] });
  const output = String(run.all);
  const results = await statuses(dir);
  expect(results, output).toMatchObject({
    'reads a credential': { status: 'passed' },
    'fails on purpose': { status: 'failed' },
    'cuts SSH off last': { status: 'passed' },
    'starts clean and leaves a marker': { status: 'passed' },
    'first user of a machine that cannot boot': { status: 'failed', failure: expect.stringMatching(/boot/i) },
    'second user of a machine that cannot boot': { status: 'failed' },
    // useVm tests carry the vm tag: the filter keeps them and leaves the plain test out.
    'a plain test is left out by the tag filter': { status: 'skipped' },
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

  // The failing test's report (once): where the machine was, its own crash with the core saved
  // into the shared directory, its own error line (before the listed tail), the last 40 lines of
  // its own part of the journal; nothing of its neighbours'.
  const failure = results['fails on purpose']!.failure;
  expect(failure).toMatch(/expected 1 to be 2/);
  expect(failure.match(/VmDiagnosis: The test's machine was running/g)).toHaveLength(1);
  expect(failure.match(/journal during the test/g)).toHaveLength(2);
  expect(failure).toMatch(/Crashes in the guest \(systemd-coredump\):\n {4}\/root\/crasher \(pid \d+, SIGABRT\).*; core saved as artifacts\/per-file\.shared-vm\/coredumps\/core\.crasher\.\S+/);
  expect(failure).not.toContain('napper');
  expect(failure).toMatch(/Errors in the guest's journal during the test, before the lines below:\n {4}slice\[\d+\]: error from the failing test\n/);
  expect(failure.match(/error from the failing test/g)).toHaveLength(1);
  expect(failure).not.toContain('error from the passing test');
  expect(failure).toMatch(/The guest's journal during the test \(the last 40 of \d+ entries; all in artifacts\/per-file\.shared-vm\/tests\/fails-on-purpose\.journal\.txt\):/);
  expect(failure).toMatch(/\d\d:\d\d:\d\d\.\d{3} slice\[\d+\]: from the failing test/);
  expect(failure).not.toContain('from the passing test');
  expect(failure).toContain('Artifacts: artifacts/per-file.shared-vm');
  expect(readdirSync(join(dir, 'artifacts', 'per-file.shared-vm', 'coredumps'))).toEqual([expect.stringMatching(/^core\.crasher\./)]);
  // The kept directory in the failing test's JSON meta and JUnit property, not on its passing neighbours.
  const json = await assertionResults(join(dir, 'report.json'));
  const keptDir = join(dir, 'artifacts', 'per-file.shared-vm');
  expect(json['fails on purpose']).toMatchObject({ meta: { 'vitest-vmspawn:artifacts': keptDir }, tags: ['vm'] });
  expect(json['reads a credential']?.meta).not.toHaveProperty('vitest-vmspawn:artifacts');
  const junit = await readFile(join(dir, 'junit.xml'), 'utf8');
  expect(junit).toContain('<property name="vitest-vmspawn" value="VM artifacts: artifacts/per-file.shared-vm">');
  // Announcements once for the run, boot progress named after the file (or describe), once per boot.
  expect(output.match(/vitest-vmspawn: accelerator:/g), output).toHaveLength(1);
  expect(output.match(/vitest-vmspawn: per-file\.test\.ts \(shared\): QEMU started/g)).toHaveLength(1);
  expect(output).toMatch(/vitest-vmspawn: per-file\.test\.ts \(shared\): SSH answered/);
  expect(output.match(/vitest-vmspawn: reused-\d\.test\.ts > reused \(shared\): QEMU started/g)).toHaveLength(1);
  // The run summary: a line per test, naming its shared machine.
  expect(output).toMatch(/failed per-file\.test\.ts > fails on purpose: shared machine per-file\.test\.ts \(shared\), booted in \d+\.\d s, artifacts: artifacts\/per-file\.shared-vm/);
  expect(output).toMatch(/passed reused-1\.test\.ts > reused > starts clean and leaves a marker: shared machine reused-\d\.test\.ts > reused \(shared\), booted in/);

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
  expect(output).toContain('VM artifacts: artifacts/per-file.shared-vm');

  // The reused machine passed everywhere: its directory is gone, and it was shut down when the worker ended.
  const left = await readdir(join(dir, 'artifacts'));
  expect(left.filter((name) => name.startsWith('reused'))).toEqual([]);
  // The failed boot kept its directory, with the one attempt.
  const failedBoot = await readFile(join(dir, 'artifacts', 'boot-failure.shared-vm', 'vmspawn.log'), 'utf8');
  expect(failedBoot.match(/QEMU started/g)).toHaveLength(1);
  expect(results['second user of a machine that cannot boot']!.failure).toBe(results['first user of a machine that cannot boot']!.failure);
  expect(processesMentioning(dir)).toEqual([]);
}, 420_000);
