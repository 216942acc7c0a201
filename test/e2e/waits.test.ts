/**
 * The waits of the machine handle on one real boot of the default image: each awaited thing is set
 * off in the guest a few seconds later by a systemd timer (`systemd-run --on-active=`), so the wait
 * has to notice it happen; failures and timeouts carry what was last observed; the end of the
 * machine ends pending waits at once.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { MachineEndedWhileWaitingError, MachineWaitTimeoutError, UnitFailedError } from '../../src/machine/waits/wait-errors.js';
import { CORE_BOOT_TIMEOUT, image, useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-waits-');

/**
 * Runs `command` in the guest `seconds` from now, from a transient timer. A timer's default accuracy
 * is a minute (systemd bunches wake-ups together): these have to fire on time.
 */
async function later(vm: StartedMachine, seconds: number, unit: string, command: string[], options: string[] = []): Promise<void> {
  await vm.exec(['systemd-run', `--on-active=${seconds}`, '--timer-property=AccuracySec=10ms', `--unit=${unit}`, ...options, '--', ...command]);
}

describe('waits on a booted machine', () => {
  let vm: StartedMachine;

  beforeAll(async () => {
    const { initramfs } = await image();
    vm = await new Machine({
      ...initramfs,
      bootTimeout: CORE_BOOT_TIMEOUT,
      name: 'e2e-waits',
      artifactsDir: join(workDir(), 'artifacts'),
      setCredential: {
        // A TCP listener that only starts when asked to.
        'systemd.extra-unit.late-port.socket': '[Socket]\nListenStream=8123\nAccept=yes\n',
        'systemd.extra-unit.late-port@.service': '[Service]\nExecStart=/usr/bin/cat\nStandardInput=socket\n',
      },
    }).start();
  });

  afterAll(async () => {
    await vm?.stop();
  });

  test('waitForUnit: a target from notify, a service that starts later, then stops', async () => {
    await expect(vm.waitForUnit('multi-user.target')).resolves.toMatchObject({ unit: 'multi-user.target', activeState: 'active' });

    await later(vm, 5, 'late-app', ['/usr/bin/sleep', 'infinity']);
    expect((await vm.exec(['systemctl', 'is-active', 'late-app.service'], { reject: false })).stdout).toBe('inactive');
    const status = await vm.waitForUnit('late-app');
    expect(status).toMatchObject({ unit: 'late-app.service', loadState: 'loaded', activeState: 'active', subState: 'running' });

    await vm.exec(['systemctl', 'stop', '--no-block', 'late-app.service']);
    await expect(vm.waitForUnit('late-app.service', { state: 'inactive' })).resolves.toMatchObject({ activeState: 'inactive' });
  });

  test('waitForUnit: a unit that fails ends the wait before its timeout, with its status and journal', async () => {
    // A oneshot service is activating until its command exits, then failed: it is never active.
    await later(vm, 2, 'doomed', ['/bin/sh', '-c', 'echo doomed-says-goodbye; exit 3'], ['--service-type=oneshot']);
    const error = await vm.waitForUnit('doomed', { timeout: 120_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnitFailedError);
    const failure = error as UnitFailedError;
    expect(failure.status).toMatchObject({ unit: 'doomed.service', activeState: 'failed', result: 'exit-code' });
    expect(failure.message).toContain("doomed.service failed with result 'exit-code' while waiting for doomed.service to be active.");
    expect(failure.message).toMatch(/systemctl status doomed\.service:\n.*doomed\.service/);
    expect(failure.systemctlStatus).toMatch(/Active: failed \(Result: exit-code\)/);
    expect(failure.journalLines.join('\n')).toContain('doomed-says-goodbye');
    // Failing is also something to wait for.
    await expect(vm.waitForUnit('doomed', { state: 'failed' })).resolves.toMatchObject({ activeState: 'failed', result: 'exit-code' });
  });

  test('waitForFile, waitUntilSucceeds and waitUntilFails see what a timer does later', async () => {
    await later(vm, 5, 'late-file', ['/usr/bin/touch', '/run/late-file']);
    await expect(vm.exec(['test', '-e', '/run/late-file'], { reject: false })).resolves.toMatchObject({ exitCode: 1 });
    await vm.waitForFile('/run/late-file');

    await later(vm, 3, 'late-flag', ['/bin/sh', '-c', 'echo up > /run/late-flag']);
    const succeeded = await vm.waitUntilSucceeds('cat /run/late-flag');
    expect(succeeded).toMatchObject({ exitCode: 0, stdout: 'up' });

    await later(vm, 3, 'late-removal', ['/usr/bin/rm', '/run/late-flag']);
    const failed = await vm.waitUntilFails(['cat', '/run/late-flag']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('No such file or directory');
  });

  test('waitForPort sees a TCP listener that starts later', async () => {
    const before = await vm.exec('cat /proc/net/tcp /proc/net/tcp6', { reject: false });
    expect(before.stdout).not.toMatch(/:1FBB 0+:0000 0A/);
    await later(vm, 5, 'late-listen', ['/usr/bin/systemctl', 'start', 'late-port.socket']);
    const sockets = await vm.waitForPort(8123);
    expect(sockets.map((socket) => socket.port)).toContain(8123);
    expect(sockets.every((socket) => socket.address === '::' || socket.address === '0.0.0.0')).toBe(true);
  });

  test('waitForConsole: lines from the boot, and a line the guest writes later', async () => {
    await expect(vm.waitForConsole(/Linux version \d/)).resolves.toMatch(/^.*Linux version \d/);
    await later(vm, 3, 'late-console', ['/bin/sh', '-c', 'echo console-marker-42 > /dev/console']);
    await expect(vm.waitForConsole('console-marker-42', { since: 'now' })).resolves.toContain('console-marker-42');
    // Printed before this call: with since 'now' it does not count, and the timeout says what the console showed last.
    const error = await vm.waitForConsole(/Linux version \d/, { since: 'now', timeout: 2_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MachineWaitTimeoutError);
  });

  test('a timeout names what it waited for and what it last saw', async () => {
    const fileError = (await vm.waitForFile('/run/never-there', { timeout: 2_000 }).catch((caught: unknown) => caught)) as MachineWaitTimeoutError;
    expect(fileError).toBeInstanceOf(MachineWaitTimeoutError);
    expect(fileError.message).toMatch(/^Timed out after 2000 ms waiting for \/run\/never-there to exist \(\d+ checks?\)\./);
    expect(fileError.lastObserved).toMatch(/\/run\/never-there.*No such file or directory/);

    const unitError = (await vm.waitForUnit('never-there', { timeout: 2_000 }).catch((caught: unknown) => caught)) as MachineWaitTimeoutError;
    expect(unitError.lastObserved).toBe('never-there.service is inactive and not loaded (LoadState=not-found)');

    const portError = (await vm.waitForPort(9, { timeout: 2_000 }).catch((caught: unknown) => caught)) as MachineWaitTimeoutError;
    expect(portError.lastObserved).toMatch(/^listening TCP ports: .*8123 \(/);

    const controller = new AbortController();
    const aborted = vm.waitUntilSucceeds('false', { signal: controller.signal });
    controller.abort(new Error('the test gave up'));
    await expect(aborted).rejects.toThrow('the test gave up');
  });

  test('the end of the machine ends pending waits at once', async () => {
    const pending = Promise.allSettled([
      vm.waitForFile('/run/never-there', { timeout: 120_000 }),
      vm.waitForConsole('never printed', { timeout: 120_000 }),
      vm.waitForUnit('never-there', { timeout: 120_000 }),
    ]);
    await vm.kill();
    for (const result of await pending) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as MachineEndedWhileWaitingError;
      expect(reason).toBeInstanceOf(MachineEndedWhileWaitingError);
      expect(reason.message).toMatch(/^Stopped waiting for .*: the machine ended \(/);
    }
  });
});
