/**
 * One boot under vitest 5 and Node 22 (scripts/vitest5.sh), with the package as a project installs
 * it: the plugin (run announcements, matchers setup file, `vm` tag, run summary), test.vm through
 * withVm on a fixture of the test's own, exec, the journal and a matcher, and after the test the kept
 * artifacts reported in the test's meta and annotations.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test as base, type TestContext } from 'vitest';
import { withVm } from 'vitest-vmspawn';

const test = withVm(base.extend('greeting', async () => 'hello from vitest 5'));
let vmTest: TestContext['task'] | undefined;
const vitestVersion = (createRequire(import.meta.url)('vitest/package.json') as { version: string }).version;

test.vm('boots, runs commands, reads its journal and matches under vitest 5 on Node 22', async ({ vm, greeting, task }) => {
  vmTest = task;
  expect(vitestVersion).toMatch(/^5\./);
  expect(process.versions.node).toMatch(/^22\./);
  expect(task.tags).toContain('vm');
  expect((await vm.exec(['echo', greeting])).stdout).toBe(greeting);
  await vm.exec(['logger', '-t', 'vitest5', 'logged under vitest 5']);
  await vm.waitForJournal({ identifier: 'vitest5', message: 'logged under vitest 5' });
  expect(vm.journal).toContainEntry({ identifier: 'vitest5', message: /under vitest 5/ });
  expect(await vm.exec(['test', '-d', '/run/systemd/system'])).toSucceed();
});

afterAll(() => {
  // The fixture's cleanup ran: the machine stopped and its artifacts (kept: 'always') were reported.
  const directory = vmTest?.meta['vitest-vmspawn:artifacts'];
  expect(directory).toBeTypeOf('string');
  expect(existsSync(join(directory as string, 'summary.json'))).toBe(true);
  expect(vmTest?.annotations.map((annotation) => annotation.message)).toContainEqual(expect.stringMatching(/^VM artifacts: /));
});
