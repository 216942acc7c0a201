/**
 * A machine without vsock (`vsock: false`), on one boot of the default image: SSH over the private
 * control network, reached once the guest's NIC answers a probe, carries exec (several MiB,
 * checksummed), readiness and the journal (from the kernel's first line on, into the same journal,
 * matchers and artifacts); units are awaited over SSH; notify messages say they are unavailable;
 * the shutdown is clean and leaves no process.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { useVm } from '../../src/index.js';
import { machineProcesses, processesMentioning } from './helpers.js';

const EXEC_LINES = 800_000;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const test = useVm({
  vsock: false,
  name: 'e2e-no-vsock',
  // Without vsock a boot under TCG takes 45–50 s alone (the control NIC comes up late); beside other
  // guests on two cores it can pass the default 120 s.
  bootTimeout: 240_000,
  setCredential: {
    'systemd.extra-unit.novsock-demo.service': '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c "sleep 1; echo demo service done"\n',
  },
});

test('start() resolved once systemd said the boot finished, over SSH, with no vsock device and no notify socket', async ({ vm }) => {
  // 0x0013: the virtio device id of vsock.
  const { stdout } = await vm.exec('systemctl is-system-running; cat /sys/bus/virtio/devices/*/device; ls /run/credentials/@system/');
  expect(stdout).toMatch(/^running\n/);
  expect(stdout).not.toContain('0x0013');
  expect(stdout).not.toContain('vmm.notify_socket');
  expect(stdout).toContain('ssh.listen');
  const { readyAfterMs, sshReadyAfterMs, vsock } = vm.summary;
  expect(vsock).toContain('vsock: none');
  expect(sshReadyAfterMs).toBeGreaterThan(0);
  expect(readyAfterMs).toBeGreaterThanOrEqual(sshReadyAfterMs!);
  // The control NIC has no default route and reaches nothing: restrict=on.
  // /proc/net/route: the destination in little-endian hex, 0067000A is 10.0.103.0, 00000000 a default route.
  const routes = (await vm.exec('cat /proc/net/route')).stdout.split('\n').map((line) => line.split('\t')[1]);
  expect(routes).toContain('0067000A');
  expect(routes).not.toContain('00000000');
  // Until the NIC was up the engine probed guest port 1, not SSH: sshd started for the engine's own
  // connections (the first, the journal stream's), not once more for each attempt QEMU held back.
  expect(await readFile(join(vm.artifactsDir, 'vmspawn.log'), 'utf8')).toMatch(/the guest's control NIC is up \(it answered the probe after \d+\.\d s\)/);
  expect(vm.journal.entries({ identifier: 'systemd', message: /^Started sshd@/ }).length).toBeLessThanOrEqual(3);
  // systemd.ssh_auto=no: the generator does not try the vsock module that has no device.
  expect(vm.journal.entries({ priority: 'err' }).map((entry) => entry.message)).not.toContainEqual(expect.stringContaining('AF_VSOCK'));
});

test('exec returns several MiB of output intact', async ({ vm }) => {
  const expected = Array.from({ length: EXEC_LINES }, (_, index) => String(index + 1)).join('\n');
  const { stdout } = await vm.exec(['seq', '1', String(EXEC_LINES)]);
  expect(stdout.length).toBeGreaterThan(5 * 1024 * 1024);
  expect(sha256(stdout.replace(/\n$/, ''))).toBe(sha256(expected));
});

test('the journal holds the boot from the kernel on, once each, and entries of the test', async ({ vm }) => {
  const kernel = vm.journal.entries({ fields: { _TRANSPORT: 'kernel' } });
  expect(kernel[0]?.message).toMatch(/^Linux version /);
  expect(vm.journal.entries({ identifier: 'systemd', message: /^systemd \S+ running in system mode/ })).toHaveLength(1);
  expect(vm.journal.entries({ identifier: 'systemd', message: /^Startup finished in / })).toHaveLength(1);
  const cursors = vm.journal.entries().map((entry) => entry.fields.__CURSOR);
  expect(new Set(cursors).size).toBe(cursors.length);

  await vm.exec(['logger', '-t', 'no-vsock-e2e', '-p', 'user.warning', 'hello over ssh']);
  const entry = await vm.waitForJournal({ identifier: 'no-vsock-e2e', message: 'hello over ssh' }, { timeout: 30_000 });
  expect(entry.priority).toBe(4);
  expect(vm).toContainEntry({ identifier: 'no-vsock-e2e', priority: 'warning', message: /over ssh$/ });
});

test('units are awaited over SSH', async ({ vm }) => {
  await vm.exec('systemctl start --no-block novsock-demo.service');
  const status = await vm.waitForUnit('novsock-demo.service', { timeout: 60_000 });
  expect(status.activeState).toBe('active');
  await expect(vm.waitForUnit('multi-user.target', { timeout: 30_000 })).resolves.toMatchObject({ activeState: 'active' });
  await vm.waitForJournal({ unit: 'novsock-demo.service', message: 'demo service done' }, { timeout: 30_000 });
});

test('notify messages and vsock streams say they are unavailable', async ({ vm }) => {
  expect(vm.notify.unavailable).toBe('unavailable: no vsock');
  expect(vm.notify.messages).toEqual([]);
  await expect(vm.notify.waitForReady({ timeout: 1_000 })).rejects.toThrow(/unavailable: no vsock/);
  await expect(vm.connect(5000)).rejects.toThrow(/unavailable: no vsock/);
  expect(vm.summary.notifyMessages).toBe('unavailable: no vsock');
});

test('shutdown is clean: the journal is complete and readable, no process is left', async ({ vm }) => {
  await vm.exec(['logger', '-t', 'no-vsock-e2e', 'last words']);
  await vm.waitForJournal({ identifier: 'no-vsock-e2e', message: 'last words' }, { timeout: 30_000 });
  const exitStatus = await vm.shutdown();
  expect(exitStatus).toBeUndefined();
  const summary = vm.summary;
  expect(summary.exit).toMatchObject({ endedBy: 'shutdown' });
  expect(machineProcesses(summary)).toEqual([]);
  expect(processesMentioning(vm.artifactsDir)).toEqual([]);
  expect(summary.nativeJournal).toBe(join(vm.artifactsDir, 'journal.journal'));
  const { stdout } = await execa('journalctl', ['--file', summary.nativeJournal!, '-o', 'cat', '-t', 'no-vsock-e2e']);
  expect(stdout.split('\n')).toEqual(['hello over ssh', 'last words']);
  const exported = await readFile(join(vm.artifactsDir, 'journal.export'));
  expect(exported.length).toBeGreaterThan(10_000);
});
