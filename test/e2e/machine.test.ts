/**
 * The engine on a real boot of the default image: credentials, readiness, exec, journal, raw vsock
 * streams, several initrds, exit status, artifacts, and no process left behind.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { ExecAbortedError, ExecError } from '../../src/errors.js';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { CORE_BOOT_TIMEOUT, image, machineProcesses, NEEDS_VSOCK, useWorkDir, WITHOUT_VSOCK } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-');

/** A cpio archive holding one file, to pass as a second initrd. */
async function initrdWithFile(path: string, content: string): Promise<string> {
  const root = join(workDir(), 'extra-root');
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), content);
  const archive = join(workDir(), 'extra.cpio');
  await execa('sh', ['-c', `cd "${root}" && find . -mindepth 1 | cpio --quiet -o -H newc > "${archive}"`]);
  return archive;
}

describe('a booted machine', () => {
  let vm: StartedMachine;
  let readyWhenStartResolved: boolean;

  beforeAll(async () => {
    const { initramfs } = await image();
    const secretFile = join(workDir(), 'loaded-secret');
    await writeFile(secretFile, 'loaded from a file\n');
    vm = await new Machine({
      ...initramfs,
      bootTimeout: CORE_BOOT_TIMEOUT,
      initrd: [...initramfs.initrd, await initrdWithFile('etc/extra-initrd/marker', 'from the second initrd\n')],
      name: 'e2e-machine',
      artifactsDir: join(workDir(), 'artifacts'),
      setCredential: {
        'mytest.greeting': 'hello from the host',
        // A socket-activated echo service on vsock port 5000, defined entirely by credentials.
        'systemd.extra-unit.echo.socket': '[Socket]\nListenStream=vsock::5000\nAccept=yes\n',
        'systemd.extra-unit.echo@.service': '[Service]\nExecStart=/usr/bin/cat\nStandardInput=socket\n',
      },
      loadCredential: { 'mytest.loaded': secretFile },
    }).start();
    readyWhenStartResolved = vm.notify.ready;
  });

  test('credentials set and loaded by the test are readable in the guest', async () => {
    const { stdout } = await vm.exec('cat /run/credentials/@system/mytest.greeting; echo; cat /run/credentials/@system/mytest.loaded');
    expect(stdout).toBe('hello from the host\nloaded from a file');
  });

  test('start() resolved only after READY=1, ssh-access.target and an SSH handshake', (context) => {
    context.skip(WITHOUT_VSOCK, NEEDS_VSOCK);
    expect(readyWhenStartResolved).toBe(true);
    const names = vm.notify.messages.map((message) => message.raw);
    expect(names.indexOf('X_SYSTEMD_UNIT_ACTIVE=ssh-access.target')).toBeGreaterThanOrEqual(0);
    const { readyAfterMs, sshReadyAfterMs } = vm.summary;
    expect(readyAfterMs).toBeGreaterThan(0);
    expect(sshReadyAfterMs).toBeGreaterThanOrEqual(readyAfterMs!);
    expect(vm.notify.messages.find((message) => message.fields.READY === '1')?.time).toBeLessThanOrEqual(sshReadyAfterMs!);
  });

  test('the guest is named by the machine name and its machine-id comes from the UUID', async () => {
    const { stdout } = await vm.exec('hostname; cat /etc/machine-id');
    expect(stdout).toBe(`e2e-machine\n${vm.uuid.replaceAll('-', '')}`);
  });

  test('exec returns stdout, stderr and the exit status', async () => {
    await expect(vm.exec('echo out; echo err >&2')).resolves.toMatchObject({ stdout: 'out', stderr: 'err', exitCode: 0, failed: false });
    await expect(vm.exec(['printf', '%s|', 'a b', "it's", '$HOME'])).resolves.toMatchObject({ stdout: "a b|it's|$HOME|" });
    await expect(vm.exec('exit 3', { reject: false })).resolves.toMatchObject({ exitCode: 3, failed: true });
    await expect(vm.exec('tr a-z A-Z', { input: 'from stdin' })).resolves.toMatchObject({ stdout: 'FROM STDIN' });
  });

  test('a failing command rejects with its status and output', async () => {
    const failure = await vm.exec('echo partial; echo broken >&2; exit 7').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ExecError);
    expect(failure).toMatchObject({ exitCode: 7, stdout: 'partial', stderr: 'broken' });
    expect((failure as Error).message).toMatch(/exited with status 7: echo partial.*\n.*stderr:\n\s+broken/s);
  });

  test('a command that runs too long is abandoned and killed, and the connection stays usable', async () => {
    const started = Date.now();
    await expect(vm.exec('sleep 30', { timeout: 300 })).rejects.toBeInstanceOf(ExecAbortedError);
    expect(Date.now() - started).toBeLessThan(10_000);
    // Killed promptly, but a loaded host stretches "promptly": wait with a generous deadline.
    await expect.poll(async () => (await vm.exec('pgrep -x sleep', { reject: false })).stdout, { timeout: 60_000, interval: 500 }).toBe('');
    const controller = new AbortController();
    const aborted = vm.exec('sleep 30', { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toThrow(/was aborted/);
    await expect(vm.exec('echo still here')).resolves.toMatchObject({ stdout: 'still here' });
  });

  test('a second initrd adds its files to the root', async () => {
    await expect(vm.exec('cat /etc/extra-initrd/marker')).resolves.toMatchObject({ stdout: 'from the second initrd' });
  });

  test('logger output arrives in the forwarded journal: through the handle and journalctl --file', async () => {
    await vm.exec(['logger', '-t', 'mytest', '-p', 'user.warning', 'hello']);
    const entry = await vm.waitForJournal({ identifier: 'mytest', message: 'hello' }, { timeout: 30_000 });
    expect(entry).toMatchObject({ message: 'hello', identifier: 'mytest', priority: 4 });
    expect(vm.journalEntries({ identifier: 'mytest', priority: 'warning' })).toHaveLength(1);
    expect(vm.journalEntries({ identifier: 'mytest', priority: 'err' })).toHaveLength(0);

    const nativeFile = await vm.journal.writeNativeFile(join(workDir(), 'snapshot.journal'));
    const { stdout } = await execa('journalctl', ['--file', nativeFile, '-t', 'mytest', '-o', 'cat']);
    expect(stdout).toBe('hello');
  });

  test('kernel messages and unit messages are in the journal too', () => {
    expect(vm.journalEntries({ fields: { _TRANSPORT: 'kernel' } }).length).toBeGreaterThan(10);
    expect(vm.journalEntries({ unit: 'systemd-journald.service' }).length).toBeGreaterThan(0);
  });

  test('connect() opens a raw stream to a guest vsock port', async (context) => {
    context.skip(WITHOUT_VSOCK, NEEDS_VSOCK);
    await vm.exec('systemctl start echo.socket');
    const stream = await vm.connect(5000);
    const echoed = new Promise<string>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    stream.write('ping over vsock\n');
    expect(await echoed).toBe('ping over vsock\n');
    stream.destroy();
  });

  test('shutdown() powers off cleanly, returns EXIT_STATUS 0 and leaves complete artifacts', async () => {
    const summaryBefore = vm.summary;
    // Without vsock no EXIT_STATUS arrives, and the journal read over SSH ends when sshd stops.
    const exitStatus = WITHOUT_VSOCK ? undefined : 0;
    await expect(vm.shutdown()).resolves.toBe(exitStatus);
    expect(vm.state).toBe('exited');
    expect(vm.summary.exit).toMatchObject({ exitStatus, qemuExitCode: 0, endedBy: 'shutdown' });
    expect(machineProcesses(summaryBefore)).toEqual([]);
    for (const file of ['console.log', 'qemu-cmdline.txt', 'notify.log', 'journal.export', 'journal.journal', 'vmspawn.log', 'summary.json']) {
      expect(existsSync(join(vm.artifactsDir, file)), file).toBe(true);
    }
    if (!WITHOUT_VSOCK) {
      expect(await readFile(join(vm.artifactsDir, 'notify.log'), 'utf8')).toMatch(/READY=1 STATUS=Ready\.\n(.|\n)*EXIT_STATUS=0/);
      expect(JSON.parse(await readFile(join(vm.artifactsDir, 'summary.json'), 'utf8'))).toMatchObject({ exit: { exitStatus: 0 } });
    }
    // The journal covers the shutdown, read back from the native file.
    const { stdout } = await execa('journalctl', ['--file', join(vm.artifactsDir, 'journal.journal'), '-o', 'cat', '--no-pager']);
    expect(stdout).toMatch(WITHOUT_VSOCK ? /System is powering down|The system will power off now|Stopped target .*Multi-User/ : /Reached target .*Power-Off|System Power Off/);
    await expect(vm.exec('true')).rejects.toThrow(/machine that is exited/);
  });
});

test('systemctl exit 42 in the guest yields exit status 42 and no process is left', async (context) => {
  context.skip(WITHOUT_VSOCK, NEEDS_VSOCK);
  const { initramfs } = await image();
  const artifactsDir = join(workDir(), 'exit-42');
  const vm = await new Machine({ ...initramfs, artifactsDir, bootTimeout: CORE_BOOT_TIMEOUT }).start();
  const processes = vm.summary.processes;
  await vm.exec('systemctl exit 42', { reject: false });
  const exit = await vm.waitForExit({ timeout: 60_000 });
  expect(exit).toMatchObject({ exitStatus: 42, qemuExitCode: 0, endedBy: 'guest' });
  expect(machineProcesses({ ...vm.summary, processes })).toEqual([]);
  expect(existsSync(join(artifactsDir, 'journal.journal'))).toBe(true);
  await vm.stop();
});
