/**
 * The fault suite: boots and runs that go wrong. Each case checks that the failure says what
 * happened, that the artifacts are kept and readable, and that no QEMU or helper process (and no
 * runtime directory with its credentials) outlives the case. Boots are slow under TCG, so one
 * boot proves several things where it can.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { BootError, ExecAbortedError, MachineEndedError, MachineStateError } from '../../src/errors.js';
import { isProcessAlive, processCommandLine } from '../../src/host/process-status.js';
import { reapAbandonedMachines } from '../../src/machine/abandoned-machines.js';
import { Machine } from '../../src/machine/machine.js';
import type { MachineSummary } from '../../src/machine/summary.js';
import { hostKeyTmpfilesLines } from '../../src/plan/credentials.js';
import { liveManagedProcesses } from '../../src/process/managed-process.js';
import { generateMachineKeys } from '../../src/ssh/keys.js';
import { image, machineProcesses, processesMentioning, useWorkDir } from './helpers.js';
import { startVitest, statuses, writeProject } from './inline-vitest.js';

const workDir = useWorkDir('vmspawn-e2e-faults-');

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error,
  );
}

async function summaryIn(artifactsDir: string): Promise<MachineSummary> {
  return JSON.parse(await readFile(join(artifactsDir, 'summary.json'), 'utf8')) as MachineSummary;
}

/** The guest's journal as journalctl reads it from the native file in the artifacts. */
async function journalText(artifactsDir: string, ...args: string[]): Promise<string> {
  return (await execa('journalctl', ['--file', join(artifactsDir, 'journal.journal'), '-o', 'cat', '--no-pager', ...args])).stdout;
}

/** Waits (generously: a loaded host is slow to reap) until no process names any of `texts`. */
async function expectNoProcessMentioning(...texts: string[]): Promise<void> {
  const left = () => texts.flatMap((text) => processesMentioning(text));
  const deadline = Date.now() + 30_000;
  while (left().length > 0 && Date.now() < deadline) await sleep(200);
  expect(left().map((pid) => `${pid} (${parentAndState(pid)}): ${processCommandLine(pid)?.replaceAll('\0', ' ')}`)).toEqual([]);
}

/** "parent P, state S, alive: yes/no" of a process, so a leftover says whether the process that started it still runs. */
function parentAndState(pid: number): string {
  try {
    // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `parent ${ppid}${isProcessAlive(Number(ppid)) ? ' (alive)' : ''}, state ${state}`;
  } catch {
    return 'gone';
  }
}

describe('boots that fail say why, at once, and leave nothing running', () => {
  test('a kernel panic during boot; without artifactsDir, no temporary directory is left', async () => {
    const { initramfs } = await image();
    const artifactsDir = join(workDir(), 'panic');
    const options = { ...initramfs, kernelArgs: [...initramfs.kernelArgs, 'rdinit=/nonexistent'], bootTimeout: 200_000 };
    const started = Date.now();
    const failure = await failureOf(new Machine({ ...options, artifactsDir }).start());
    expect(failure).toBeInstanceOf(BootError);
    expect(failure.message).toMatch(/^The guest kernel panicked: VFS: Unable to mount root fs/);
    expect(failure.message).toContain(`Artifacts (console.log, qemu.log, notify.log, journal): ${artifactsDir}`);
    expect((failure as BootError).consoleTail).toMatch(/Kernel panic/);
    expect(Date.now() - started).toBeLessThan(100_000);
    expect(await readFile(join(artifactsDir, 'console.log'), 'utf8')).toMatch(/Kernel panic/);
    expect(await summaryIn(artifactsDir)).toMatchObject({ exit: { endedBy: 'boot-failure', reason: expect.stringMatching(/kernel panicked/) } });
    expect(processesMentioning(artifactsDir)).toEqual([]);

    // The engine's own temporary artifacts directory goes with a failed boot; the error says how to keep one.
    const tmp = join(workDir(), 'tmp');
    await mkdir(tmp);
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const again = await failureOf(new Machine(options).start());
      expect(again.message).toMatch(/^The guest kernel panicked/);
      expect(again.message).toMatch(/Set artifactsDir to keep the console log/);
      expect((again as BootError).artifactsDir).toBeUndefined();
    } finally {
      // Assigning undefined would set the string "undefined", a directory that later child runs would not find.
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
    // Only the (empty) root of the runtime directories is left.
    expect(readdirSync(tmp).filter((entry) => !entry.startsWith('vitest-vmspawn-') || entry.startsWith('vitest-vmspawn-artifacts-'))).toEqual([]);
    expect(readdirSync(join(tmp, `vitest-vmspawn-${process.getuid?.()}`))).toEqual([]);
    expect(liveManagedProcesses()).toEqual([]);
  });

  test('a guest never ready within bootTimeout', async () => {
    const { initramfs } = await image();
    const artifactsDir = join(workDir(), 'timeout');
    const failure = await failureOf(new Machine({ ...initramfs, artifactsDir, bootTimeout: 8_000 }).start());
    expect(failure).toBeInstanceOf(BootError);
    expect(failure.message).toMatch(/^The guest was not ready within bootTimeout \(8000 ms\)/);
    expect((failure as BootError).consoleTail).toMatch(/Linux version|\[\s+\d+\.\d+\]/);
    expect(await readFile(join(artifactsDir, 'console.log'), 'utf8')).toMatch(/Linux version/);
    expect(await summaryIn(artifactsDir)).toMatchObject({ exit: { endedBy: 'boot-failure' }, error: expect.stringMatching(/bootTimeout/) });
    expect(processesMentioning(artifactsDir)).toEqual([]);
    expect(liveManagedProcesses()).toEqual([]);
  });

  test('an aborted start()', async () => {
    const { initramfs } = await image();
    const artifactsDir = join(workDir(), 'abort');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('test gave up')), 2_000);
    const failure = await failureOf(new Machine({ ...initramfs, artifactsDir }).start({ signal: controller.signal }));
    expect(failure.message).toMatch(/^start\(\) was aborted: test gave up/);
    expect(await summaryIn(artifactsDir)).toMatchObject({ exit: { endedBy: 'boot-failure' } });
    expect(processesMentioning(artifactsDir)).toEqual([]);
  });

  test('a disk image of random bytes: the firmware finds nothing to boot', async () => {
    const disk = join(workDir(), 'random.raw');
    await writeFile(disk, randomBytes(4 * 1024 * 1024));
    const artifactsDir = join(workDir(), 'random-disk');
    const started = Date.now();
    const failure = await failureOf(new Machine({ image: disk, artifactsDir, bootTimeout: 200_000 }).start());
    // An image without linux boots through UEFI firmware, which says on the console that nothing booted.
    expect(failure.message).toMatch(/^The UEFI firmware found nothing to boot \(OVMF: .*Boot0001 "UEFI Misc Device": Not Found/);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await readFile(join(artifactsDir, 'console.log'), 'utf8')).toMatch(/BdsDxe: failed to load Boot0001/);
    expect(await summaryIn(artifactsDir)).toMatchObject({ boot: { path: 'uefi-disk', secureBoot: false } });
    expect(await summaryIn(artifactsDir)).toMatchObject({ exit: { endedBy: 'boot-failure' } });
    expect(processesMentioning(artifactsDir)).toEqual([]);
  });

  test('a guest in emergency mode, without SSH: the failed unit is named', async () => {
    const { initramfs } = await image();
    const artifactsDir = join(workDir(), 'emergency');
    const started = Date.now();
    // A mount local-fs.target needs fails (tmpfs knows no such option), so systemd enters emergency mode
    // and still sends READY=1: without SSH to wait for, that must not count as ready.
    const fstab = 'none /srv tmpfs no-such-option 0 0\n';
    const failure = await failureOf(
      new Machine({ ...initramfs, ssh: false, setCredential: { 'fstab.extra': fstab }, artifactsDir, bootTimeout: 200_000 }).start(),
    );
    expect(failure.message).toMatch(/^The guest's systemd entered emergency mode/);
    expect(failure.message).toMatch(/\nFailed units: .*srv\.mount/);
    expect(failure.message.split('\nLast console lines:')[0]).not.toMatch(/ssh-access.target|bootTimeout/);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(await readFile(join(artifactsDir, 'notify.log'), 'utf8')).toMatch(/X_SYSTEMD_UNIT_ACTIVE=emergency.target/);
    expect(processesMentioning(artifactsDir)).toEqual([]);
  });

  test('a guest that presents another SSH host key', async () => {
    const { initramfs } = await image();
    const artifactsDir = join(workDir(), 'host-key');
    // tmpfiles takes the first line for a path: this key wins over the engine's.
    const impostor = hostKeyTmpfilesLines(generateMachineKeys('impostor'));
    const started = Date.now();
    const failure = await failureOf(new Machine({ ...initramfs, artifactsDir, setCredential: { 'tmpfiles.extra': impostor }, bootTimeout: 200_000 }).start());
    expect(failure.message).toMatch(/^The guest presented an SSH host key other than the one the engine installed/);
    expect(failure.message).not.toMatch(/bootTimeout/);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(await readFile(join(artifactsDir, 'vmspawn.log'), 'utf8')).toMatch(/SSH host key other than/);
    expect(processesMentioning(artifactsDir)).toEqual([]);
  });
});

describe('a running machine', () => {
  test('an exec past its timeout is killed in the guest; a full disk keeps exec and the journal working; shutdown without SSH is quick', async () => {
    const { initramfs } = await image();
    const artifactsDir = join(workDir(), 'running');
    const vm = await new Machine({ ...initramfs, artifactsDir, shutdownTimeout: 60_000 }).start();
    const processes = vm.summary.processes;
    try {
      // A command that hangs past its timeout: rejected at once, its process killed in the guest.
      const started = Date.now();
      await expect(vm.exec('sleep 613', { timeout: 1_000 })).rejects.toBeInstanceOf(ExecAbortedError);
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect.poll(async () => (await vm.exec("pgrep -f 'sleep 61[3]'", { reject: false })).stdout, { timeout: 60_000, interval: 500 }).toBe('');

      // Fill the file system the guest's journal lives on.
      const fill = `
        dir=/var/log/journal; [ -d "$dir" ] || dir=/run/log/journal
        mnt=$(findmnt -n -o TARGET --target "$dir")
        fallocate -l "$(df --output=avail -B1 "$mnt" | tail -1)" "$mnt/vmspawn-fill" 2>/dev/null
        dd if=/dev/zero of="$mnt/vmspawn-fill-2" bs=4k 2>/dev/null
        echo "$mnt"`;
      const mountPoint = (await vm.exec(fill, { reject: false })).stdout.trim().split('\n').pop()!;
      expect(mountPoint).toMatch(/^\//);
      await expect(vm.exec(`df --output=avail -B1 ${mountPoint} | tail -1`)).resolves.toMatchObject({ stdout: expect.stringMatching(/^\s*0$/) });
      await expect(vm.exec(`echo more > ${mountPoint}/vmspawn-more`, { reject: false })).resolves.toMatchObject({ stderr: expect.stringMatching(/No space left/) });
      await expect(vm.exec('echo still works')).resolves.toMatchObject({ stdout: 'still works' });
      await vm.exec(['logger', '-t', 'diskfull', 'logged while the disk is full']);
      await expect(vm.waitForJournal({ identifier: 'diskfull' }, { timeout: 60_000 })).resolves.toMatchObject({ message: 'logged while the disk is full' });
      await vm.exec(`rm -f ${mountPoint}/vmspawn-fill ${mountPoint}/vmspawn-fill-2`);

      // SSH dies: the socket unit stops and every sshd is killed.
      await vm.exec(`systemd-run --on-active=1 --timer-property=AccuracySec=10ms sh -c 'systemctl stop "*ssh*.socket"; pkill -KILL sshd'`);
      await expect
        .poll(() => vm.exec('true').then(() => 'still answers', (error: Error) => error.message), { timeout: 60_000, interval: 1_000 })
        .toMatch(/Cannot open an SSH connection to the guest \(the previous one was lost\): .*nothing listens on that port/);
      const shutdownStarted = Date.now();
      await vm.shutdown();
      const shutdownMs = Date.now() - shutdownStarted;
      expect(shutdownMs, 'shutdown took longer than half its timeout').toBeLessThan(30_000);
      expect(vm.summary.exit).toMatchObject({ endedBy: 'shutdown' });
      console.log(`shutdown without SSH: ${shutdownMs} ms, ${vm.summary.exit?.reason}`);
    } finally {
      await vm.stop();
    }
    expect(machineProcesses({ ...vm.summary, processes })).toEqual([]);
    expect(await journalText(artifactsDir, '-t', 'diskfull')).toBe('logged while the disk is full');
    expect(await summaryIn(artifactsDir)).toMatchObject({ exit: { endedBy: 'shutdown' } });
  });

  test('QEMU killed with SIGKILL mid-test: the running command and the machine say so', async () => {
    const { initramfs } = await image();
    const artifactsDir = join(workDir(), 'qemu-killed');
    const vm = await new Machine({ ...initramfs, artifactsDir }).start();
    const processes = vm.summary.processes;
    const running = failureOf(vm.exec('sleep 600'));
    await sleep(1_000);
    process.kill(processes.qemu!, 'SIGKILL');
    const failure = await running;
    expect(failure).toBeInstanceOf(MachineEndedError);
    expect(failure.message).toMatch(/^The machine ended while a command ran in the guest: QEMU was killed by SIGKILL, not by the engine; the guest did not shut down/);
    const exit = await vm.waitForExit({ timeout: 60_000 });
    expect(exit).toMatchObject({ endedBy: 'crashed', qemuSignal: 'SIGKILL' });
    expect(vm.state).toBe('exited');
    await expect(vm.exec('true')).rejects.toThrow(/machine that is exited \(QEMU was killed by SIGKILL/);
    await vm.stop();
    expect(machineProcesses({ ...vm.summary, processes })).toEqual([]);
    expect(await summaryIn(artifactsDir)).toMatchObject({ exit: { endedBy: 'crashed', reason: expect.stringMatching(/killed by SIGKILL/) } });
    expect(await journalText(artifactsDir)).toMatch(/Reached target/);
  });

  test('the guest powering off by itself mid-test', async () => {
    const { initramfs } = await image();
    const artifactsDir = join(workDir(), 'guest-poweroff');
    const vm = await new Machine({ ...initramfs, artifactsDir }).start();
    const processes = vm.summary.processes;
    await vm.exec('systemd-run --on-active=1 --timer-property=AccuracySec=10ms systemctl poweroff');
    await expect.poll(() => vm.state, { timeout: 60_000, interval: 100 }).not.toBe('running');
    const exit = await vm.waitForExit({ timeout: 60_000 });
    expect(vm.state).toBe('exited');
    expect(exit).toMatchObject({ endedBy: 'guest', exitStatus: 0, reason: expect.stringMatching(/^the guest shut down by itself \(poweroff\)/) });
    const failure = await failureOf(vm.exec('true'));
    expect(failure).toBeInstanceOf(MachineStateError);
    expect(failure.message).toMatch(/machine that is exited \(the guest shut down by itself/);
    await vm.stop();
    expect(vm.summary.exit?.endedBy).toBe('guest');
    expect(machineProcesses({ ...vm.summary, processes })).toEqual([]);
    expect(await journalText(artifactsDir)).toMatch(/Reached target .*Power-Off|System Power Off/);
  });
});

describe('vitest runs that are cut short', () => {
  /** A runtime root of the child run's own, so its directories are told apart from other runs' (short: socket paths are limited). */
  async function runtimeBase(): Promise<{ xdg: string; root: string }> {
    const xdg = await mkdtemp(join(workDir(), 'x-'));
    return { xdg, root: join(xdg, `vitest-vmspawn-${process.getuid?.()}`) };
  }
  const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

  test('a test timeout shorter than the boot, and one in the body: reported, artifacts kept, no runtime directory left', async () => {
    const dir = await writeProject('fault-timeouts', {
      'body.test.ts': `
        import { writeFileSync } from 'node:fs';
        import { test } from 'vitest-vmspawn';
        // Long enough for a boot on a loaded CI host (one took over 45 s beside the journal flood).
        test.vm('body hangs', { timeout: 120_000 }, async ({ vm }) => {
          writeFileSync('booted', vm.name);
          await new Promise(() => {});
        });
      `,
      'boot.test.ts': `
        import { test } from 'vitest-vmspawn';
        test.vm('boot outlasts the timeout', { timeout: 3_000 }, async () => {});
      `,
    });
    const { xdg, root } = await runtimeBase();
    const run = await startVitest(dir, { env: { XDG_RUNTIME_DIR: xdg } });
    const results = await statuses(dir);
    expect(results, String(run.all)).toMatchObject({ 'body hangs': { status: 'failed' }, 'boot outlasts the timeout': { status: 'failed' } });
    expect(String(run.all)).toMatch(/FAIL.*body hangs\n.*Test timed out in 120000ms/);
    expect(String(run.all)).toMatch(/FAIL.*boot outlasts the timeout\n.*Test timed out in 3000ms/);
    expect(existsSync(join(dir, 'booted')), 'the body test never booted').toBe(true);
    const body = join(dir, 'artifacts', 'body-body-hangs');
    expect(await summaryIn(body)).toMatchObject({ exit: { endedBy: 'shutdown' } });
    expect(await journalText(body)).toMatch(/Reached target/);
    expect(await readFile(join(dir, 'artifacts', 'boot-boot-outlasts-the-timeout', 'vmspawn.log'), 'utf8')).toMatch(/killing QEMU|boot failed/);
    await expectNoProcessMentioning(dir, xdg);
    // No runtime directory (sockets, the 0600 file with the host's private SSH key) is left for a later run to clean.
    expect(entries(root)).toEqual([]);
  });

  describe.each([
    { signal: 'SIGINT', to: 'its process group, as Ctrl-C in a terminal' },
    { signal: 'SIGTERM', to: 'the vitest process' },
    { signal: 'SIGKILL', to: 'the vitest process' },
  ] as const)('vitest sent $signal ($to)', ({ signal }) => {
    test('during a boot and during a test body', async () => {
      const dir = await writeProject(`fault-${signal.toLowerCase()}`, {
        'body.test.ts': `
          import { writeFileSync } from 'node:fs';
          import { test } from 'vitest-vmspawn';
          test.vm('body runs', { timeout: 600_000 }, async ({ vm }) => {
            await vm.exec(['logger', '-t', 'fault', 'in the body']);
            await vm.waitForJournal({ identifier: 'fault' });
            writeFileSync('in-body', '');
            await new Promise(() => {});
          });
        `,
        // QEMU starts paused (-S): the boot never ends by itself.
        'boot.test.ts': `
          import { test } from 'vitest-vmspawn';
          test.vm('boot never ends', { timeout: 600_000, bootTimeout: 600_000, qemuArgs: ['-S'] }, async () => {});
        `,
      });
      const { xdg, root } = await runtimeBase();
      const bootArtifacts = join(dir, 'artifacts', 'boot-boot-never-ends');
      const bodyArtifacts = join(dir, 'artifacts', 'body-body-runs');
      const run = startVitest(dir, { env: { XDG_RUNTIME_DIR: xdg }, detached: signal === 'SIGINT' });
      const deadline = Date.now() + 180_000;
      while (!(existsSync(join(dir, 'in-body')) && processesMentioning(bootArtifacts).length > 0) && Date.now() < deadline) await sleep(250);
      expect(existsSync(join(dir, 'in-body'))).toBe(true);
      expect(processesMentioning(bootArtifacts)).toHaveLength(1);

      // The workers that own the two machines.
      const workers = entries(root).map((entry) => Number(readOwner(join(root, entry))));
      expect(workers).toHaveLength(2);

      if (signal === 'SIGINT') process.kill(-run.pid!, 'SIGINT');
      else run.kill(signal);
      await run;
      await expectNoProcessMentioning(dir, xdg);
      // The workers end too, after writing the artifacts; a later run reaps whatever they could not finish.
      const workersDeadline = Date.now() + 30_000;
      while (workers.some((pid) => isProcessAlive(pid)) && Date.now() < workersDeadline) await sleep(200);
      expect(workers.filter((pid) => isProcessAlive(pid))).toEqual([]);
      await reapAbandonedMachines(root);
      expect(entries(root)).toEqual([]);

      const bodySummary = await summaryIn(bodyArtifacts);
      expect(bodySummary.exit, JSON.stringify(bodySummary)).toMatchObject({ endedBy: expect.stringMatching(/^(abandoned|crashed)$/) });
      expect(bodySummary.exit?.reason).toMatch(/test run was stopped|ended without stopping it|signal/);
      expect(await journalText(bodyArtifacts, '-t', 'fault')).toBe('in the body');
      const bootSummary = await summaryIn(bootArtifacts);
      expect(bootSummary.exit, JSON.stringify(bootSummary)).toMatchObject({ endedBy: expect.stringMatching(/^(abandoned|crashed|boot-failure)$/) });
      expect(existsSync(join(bootArtifacts, 'qemu-cmdline.txt'))).toBe(true);
    });
  });

  test('two runs of three VM tests, two at a time, back to back: no socket or CID clash', async () => {
    const testFile = (name: string) => `
      import { expect } from 'vitest';
      import { test } from 'vitest-vmspawn';
      test.vm('machine ${name}', async ({ vm }) => {
        expect((await vm.exec('hostname')).stdout).toBe('vm');
        await vm.exec(['logger', '-t', 'clash', 'from ${name}']);
        expect((await vm.waitForJournal({ identifier: 'clash' })).message).toBe('from ${name}');
        const stream = await vm.connect(22);
        const banner = await new Promise<string>((resolve) => stream.once('data', (chunk) => resolve(String(chunk))));
        stream.destroy();
        expect(banner).toMatch(/^SSH-2.0-/);
      });
    `;
    const dir = await writeProject('fault-back-to-back', { 'a.test.ts': testFile('a'), 'b.test.ts': testFile('b'), 'c.test.ts': testFile('c') });
    const { xdg, root } = await runtimeBase();
    for (const round of [1, 2]) {
      const run = await startVitest(dir, { env: { XDG_RUNTIME_DIR: xdg } });
      expect(await statuses(dir), `round ${round}\n${String(run.all)}`).toEqual({
        'machine a': { status: 'passed', failure: '' },
        'machine b': { status: 'passed', failure: '' },
        'machine c': { status: 'passed', failure: '' },
      });
      await expectNoProcessMentioning(dir, xdg);
      expect(entries(root)).toEqual([]);
    }
    // Six boots in two child runs, while the parent run boots its own guests beside them: on two cores
    // under TCG this takes 3–5 minutes.
  }, 540_000);
});

function readOwner(runtimeDir: string): string {
  try {
    return readFileSync(join(runtimeDir, 'owner'), 'utf8').split(' ')[0] ?? '0';
  } catch {
    return '0';
  }
}
