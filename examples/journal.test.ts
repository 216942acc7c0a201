import { execa } from 'execa';
import { expect } from 'vitest';
import { test } from 'vitest-vmspawn';

test.vm('asserts on what the guest logged', async ({ vm }) => {
  await vm.exec(['logger', '-t', 'myapp', '-p', 'user.err', 'disk almost full']);

  // Wait for an entry (the journal is forwarded as it is written) …
  const entry = await vm.waitForJournal({ identifier: 'myapp', priority: 'err' }, { timeout: 10_000 });
  expect(entry.message).toBe('disk almost full');

  // … or query what arrived so far.
  expect(vm.journalEntries({ identifier: 'myapp' })).toHaveLength(1);
  expect(vm.journalEntries({ priority: 'emerg' })).toEqual([]);

  // … or use the matchers the plugin registers: failures show the nearest or offending entries.
  expect(vm.journal).toContainEntry({ identifier: 'myapp', priority: 'err', message: /almost full/ });
  expect(vm.journal).toHaveNoEntries({ priority: 'err', allow: [{ identifier: 'myapp' }] });
});

test.vm("follows a unit's output", async ({ vm }) => {
  await vm.exec(['systemd-run', '--unit=hello', '--wait', 'sh', '-c', 'echo starting; echo done']);
  await vm.waitForJournal({ unit: 'hello.service', message: 'done' });
  const lines = vm.journalEntries({ fields: { _SYSTEMD_UNIT: 'hello.service' } }).map((entry) => entry.message);
  expect(lines).toEqual(['starting', 'done']);
});

test.vm('the journal is a real journal file too', async ({ vm }) => {
  await vm.exec(['logger', '-t', 'myapp', 'read me with journalctl']);
  await vm.waitForJournal({ identifier: 'myapp' });
  const file = await vm.journal.writeNativeFile();
  const { stdout } = await execa('journalctl', ['--file', file, '-t', 'myapp', '-o', 'cat']);
  expect(stdout).toBe('read me with journalctl');
});
