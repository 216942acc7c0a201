import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExecConnectionLostError, InvalidOptionsError, MachineStateError, WaitTimeoutError } from '../../src/errors.js';
import { toJournalEntry } from '../../src/journal/journal-entry.js';
import { MachineJournal } from '../../src/journal/machine-journal.js';
import { NotifyEvents } from '../../src/notify/notify-events.js';
import { parseNotifyFields } from '../../src/notify/notify-message.js';
import type { ExecResult } from '../../src/ssh/exec-types.js';
import type { MachineExit } from '../../src/machine/summary.js';
import { POLL_BACKOFF, pollDelay } from '../../src/machine/waits/backoff.js';
import { cleanConsoleText, ConsoleLines, matchesLine } from '../../src/machine/waits/console-lines.js';
import { waitForConsole } from '../../src/machine/waits/console-wait.js';
import { describeRun, waitForFile, waitForPort, waitUntilFails, waitUntilSucceeds } from '../../src/machine/waits/guest-waits.js';
import { describeListeningPorts, parseListeningSockets } from '../../src/machine/waits/proc-net-tcp.js';
import { checkUnitState, describeUnitStatus, judgeUnit, normalizeUnitName, parseUnitStatus } from '../../src/machine/waits/unit-state.js';
import { waitForUnit } from '../../src/machine/waits/unit-wait.js';
import type { WaitContext } from '../../src/machine/waits/wait-context.js';
import { formatJournalLine } from '../../src/journal/journal-line.js';
import { MachineEndedWhileWaitingError, MachineWaitTimeoutError, timeoutText, UnitFailedError } from '../../src/machine/waits/wait-errors.js';
import { waitUntil, type CheckOutcome } from '../../src/machine/waits/wait-loop.js';
import { DEFAULT_WAIT_TIMEOUT_MS, resolveWaitOptions } from '../../src/machine/waits/wait-options.js';

describe('backoff schedule', () => {
  test('doubles from 100 ms up to one second, never past the time left', () => {
    expect([1, 2, 3, 4, 5, 6, 20].map((attempt) => pollDelay(attempt))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(pollDelay(4, 250)).toBe(250);
    expect(pollDelay(4, -5)).toBe(0);
    expect(pollDelay(3, Infinity, { initialMs: 10, factor: 3, maxMs: 50 })).toBe(50);
    expect(POLL_BACKOFF.maxMs).toBe(1000);
  });
});

describe('unit state', () => {
  test('names without a unit type are services', () => {
    expect(normalizeUnitName('ssh')).toBe('ssh.service');
    expect(normalizeUnitName('getty@tty1')).toBe('getty@tty1.service');
    expect(normalizeUnitName('multi-user.target')).toBe('multi-user.target');
    expect(normalizeUnitName('sys-kernel-debug.mount')).toBe('sys-kernel-debug.mount');
    expect(normalizeUnitName('my.app')).toBe('my.app.service');
  });

  test('bad names and states are rejected with what is accepted', () => {
    expect(() => normalizeUnitName('')).toThrow(InvalidOptionsError);
    expect(() => normalizeUnitName('/home')).toThrow(/systemd-escape/);
    expect(() => normalizeUnitName('a b')).toThrow(/not a unit name/);
    expect(() => checkUnitState('running')).toThrow(/state: expected one of 'active', 'inactive', 'failed', got "running"/);
    expect(checkUnitState('failed')).toBe('failed');
  });

  test('reads systemctl show and judges it against the wanted state', () => {
    const status = parseUnitStatus('app.service', 'LoadState=loaded\nActiveState=activating\nSubState=start\nResult=success\n');
    expect(status).toEqual({ unit: 'app.service', loadState: 'loaded', activeState: 'activating', subState: 'start', result: 'success' });
    expect(judgeUnit(status, 'active')).toBe('waiting');
    expect(describeUnitStatus(status)).toBe('app.service is activating (start), result success');

    const failed = { ...status, activeState: 'failed', subState: 'failed', result: 'exit-code' };
    expect(judgeUnit(failed, 'active')).toBe('failed');
    expect(judgeUnit(failed, 'inactive')).toBe('failed');
    expect(judgeUnit(failed, 'failed')).toBe('reached');
    expect(describeUnitStatus(failed)).toBe('app.service is failed, result exit-code');

    const missing = parseUnitStatus('later.service', 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success');
    expect(judgeUnit(missing, 'inactive')).toBe('reached');
    expect(describeUnitStatus(missing)).toBe('later.service is inactive and not loaded (LoadState=not-found)');
  });
});

describe('/proc/net/tcp', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16052 1 0000000000000000 100 0 0 10 0',
    '   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16053 1 0000000000000000 100 0 0 10 0',
    '   2: 0F02000A:0016 0202000A:C6F2 01 00000000:00000000 02:000A7B5E 00000000     0        0 17000 2 0000000000000000 20 4 30 10 -1',
  ].join('\n');
  const tcp6 = [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16054 1 0000000000000000 100 0 0 10 0',
    '   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16055 1 0000000000000000 100 0 0 10 0',
    '   2: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16056 1 0000000000000000 100 0 0 10 0',
    '   3: B80D0120000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 16057 1 0000000000000000 100 0 0 10 0',
  ].join('\n');

  test('keeps listening sockets only, with their addresses decoded', () => {
    expect(parseListeningSockets(`${tcp}\n${tcp6}\n`)).toEqual([
      { address: '0.0.0.0', port: 22 },
      { address: '127.0.0.1', port: 8080 },
      { address: '::', port: 22 },
      { address: '::1', port: 631 },
      { address: '::ffff:127.0.0.1', port: 8081 },
      { address: '2001:db8::1', port: 80 },
    ]);
  });

  test('describes them by port', () => {
    expect(describeListeningPorts(parseListeningSockets(`${tcp}\n${tcp6}`))).toBe('22 (0.0.0.0, ::), 80 (2001:db8::1), 631 (::1), 8080 (127.0.0.1), 8081 (::ffff:127.0.0.1)');
    expect(describeListeningPorts([])).toBe('none');
    expect(parseListeningSockets('garbage\n\n  sl local_address')).toEqual([]);
  });
});

describe('wait error text', () => {
  test('a timeout names what it waited for and what it last saw', () => {
    expect(timeoutText('app.service to be active', 5000, 'app.service is activating (start)', 7)).toBe(
      'Timed out after 5000 ms waiting for app.service to be active (7 checks).\nLast observed: app.service is activating (start)\nPass a longer { timeout } if it is only slow.',
    );
    expect(timeoutText('x', 10, undefined, 0)).toContain('Nothing was observed yet.');
    const error = new MachineWaitTimeoutError('x', 10, 'y', 1);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error.lastObserved).toBe('y');
  });

  test('journal lines read like journalctl', () => {
    const entry = toJournalEntry({ MESSAGE: 'boom', SYSLOG_IDENTIFIER: 'app', _PID: '42', __REALTIME_TIMESTAMP: String(Date.UTC(2026, 0, 2, 3, 4, 5, 678) * 1000) });
    expect(formatJournalLine(entry)).toBe('03:04:05.678 app[42]: boom');
  });

  test('wait options: a default timeout, and a bad one named', () => {
    expect(resolveWaitOptions('waitForFile()', undefined).timeoutMs).toBe(DEFAULT_WAIT_TIMEOUT_MS);
    expect(() => resolveWaitOptions('waitForFile()', { timeout: -1 })).toThrow(/Invalid waitForFile\(\) options:\n {2}- timeout: expected a positive number of milliseconds, got -1/);
  });
});

const never = new Promise<MachineExit>(() => undefined);
const plan = (timeout: number, extra: Partial<Parameters<typeof waitUntil>[1]> = {}) => ({
  waitingFor: 'the thing',
  options: { timeoutMs: timeout, signal: undefined },
  ended: never,
  ...extra,
});

describe('the wait loop', () => {
  test('checks until done and returns the value', async () => {
    let calls = 0;
    const value = await waitUntil(async (): Promise<CheckOutcome<string>> => (++calls < 3 ? { done: false, observed: `try ${calls}` } : { done: true, value: 'yes' }), plan(5000));
    expect(value).toBe('yes');
    expect(calls).toBe(3);
  });

  test('a timeout says what the last check saw', async () => {
    let calls = 0;
    const error = await waitUntil(async () => ({ done: false, observed: `saw ${++calls}` }), plan(150)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MachineWaitTimeoutError);
    expect((error as MachineWaitTimeoutError).lastObserved).toBe(`saw ${calls}`);
    expect((error as Error).message).toMatch(/^Timed out after 150 ms waiting for the thing \(\d+ checks?\)\.\nLast observed: saw \d+/);
  });

  test('without polling, only nudges bring the next check', async () => {
    let calls = 0;
    let nudge: () => void = () => undefined;
    const waiting = waitUntil(async (): Promise<CheckOutcome<number>> => (++calls === 3 ? { done: true, value: calls } : { done: false, observed: 'no' }), plan(5000, {
      poll: false,
      nudges: (wake) => {
        nudge = wake;
        return () => undefined;
      },
    }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(1);
    nudge();
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(2);
    nudge();
    await expect(waiting).resolves.toBe(3);
  });

  test('the end of the machine ends the wait at once, and aborts the running check', async () => {
    let endMachine: (exit: MachineExit) => void = () => undefined;
    const ended = new Promise<MachineExit>((resolve) => {
      endMachine = resolve;
    });
    let checkSignal: AbortSignal | undefined;
    const waiting = waitUntil(
      (signal) => {
        checkSignal = signal;
        return new Promise<CheckOutcome<void>>(() => undefined);
      },
      plan(60_000, { ended }),
    );
    endMachine({ endedBy: 'crashed', reason: 'QEMU was killed by SIGKILL', exitStatus: undefined, qemuExitCode: undefined, qemuSignal: 'SIGKILL' });
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MachineEndedWhileWaitingError);
    expect((error as Error).message).toBe('Stopped waiting for the thing: the machine ended (QEMU was killed by SIGKILL). Nothing was observed yet.');
    expect(checkSignal?.aborted).toBe(true);
  });

  test('an abort rejects with its reason; a lost connection is only something seen', async () => {
    const controller = new AbortController();
    let calls = 0;
    const waiting = waitUntil(
      async (): Promise<CheckOutcome<void>> => {
        if (++calls === 1) throw new ExecConnectionLostError('true', 'connection-lost', '', '');
        controller.abort(new Error('test over'));
        return { done: false, observed: 'no' };
      },
      { ...plan(60_000), options: { timeoutMs: 60_000, signal: controller.signal } },
    );
    await expect(waiting).rejects.toThrow('test over');
    expect(calls).toBe(2);
  });

  test('a check that finds the machine stopping ends the wait with how the machine ended', async () => {
    let endMachine: (exit: MachineExit) => void = () => undefined;
    const ended = new Promise<MachineExit>((resolve) => {
      endMachine = resolve;
    });
    const error = await waitUntil(async () => {
      setTimeout(() => endMachine({ endedBy: 'guest', reason: 'the guest powered off', exitStatus: 0, qemuExitCode: 0, qemuSignal: undefined }), 20);
      throw new MachineStateError('exec() on a machine that is stopping.');
    }, plan(60_000, { ended })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MachineEndedWhileWaitingError);
    expect((error as MachineEndedWhileWaitingError).exit?.endedBy).toBe('guest');
    expect((error as Error).message).toBe('Stopped waiting for the thing: the machine ended (the guest powered off). Nothing was observed yet.');
  });
});

/** A context whose exec answers from a script: each call takes the next answer, the last one repeats. */
function fakeContext(answers: Array<Partial<ExecResult> | ((command: string) => Partial<ExecResult>)>, extra: Partial<WaitContext> = {}) {
  const commands: string[] = [];
  const context: WaitContext = {
    hasSsh: true,
    notify: new NotifyEvents(),
    journal: new MachineJournal('/nonexistent/export', '/nonexistent/native'),
    forwardJournal: false,
    consoleLog: '/nonexistent/console.log',
    ended: never,
    exec: async (command) => {
      const line = typeof command === 'string' ? command : command.join(' ');
      commands.push(line);
      const answer = answers[Math.min(commands.length - 1, answers.length - 1)] ?? {};
      const result = typeof answer === 'function' ? answer(line) : answer;
      const exitCode = result.exitCode ?? 0;
      return { command: line, stdout: '', stderr: '', signal: undefined, durationMs: 1, ...result, exitCode, failed: exitCode !== 0 };
    },
    ...extra,
  };
  return { context, commands };
}

const show = (active: string, sub: string, result = 'success', load = 'loaded') => ({ stdout: `LoadState=${load}\nActiveState=${active}\nSubState=${sub}\nResult=${result}` });

describe('waitForUnit', () => {
  test('polls systemctl show until the unit is active', async () => {
    const { context, commands } = fakeContext([show('inactive', 'dead', 'success', 'not-found'), show('activating', 'start'), show('active', 'running')]);
    const status = await waitForUnit(context, 'app');
    expect(status).toMatchObject({ unit: 'app.service', activeState: 'active', subState: 'running' });
    expect(commands[0]).toBe('systemctl show -p LoadState,ActiveState,SubState,Result -- app.service');
  });

  test('a failed unit ends the wait at once with its status and journal', async () => {
    const { context, commands } = fakeContext([
      show('activating', 'start'),
      (command) =>
        command.startsWith('systemctl show')
          ? show('failed', 'failed', 'exit-code')
          : command.startsWith('systemctl status')
            ? { exitCode: 3, stdout: '× app.service\n     Active: failed (Result: exit-code)' }
            : { stdout: 'Jan 02 03:04:05.678 guest app[42]: boom\n' },
    ]);
    const error = (await waitForUnit(context, 'app', { timeout: 60_000 }).catch((e: unknown) => e)) as UnitFailedError;
    expect(error).toBeInstanceOf(UnitFailedError);
    expect(error.message).toContain("app.service failed with result 'exit-code' while waiting for app.service to be active.");
    expect(error.message).toContain('    Active: failed (Result: exit-code)');
    expect(error.journalLines).toEqual(['Jan 02 03:04:05.678 guest app[42]: boom']);
    expect(commands.some((command) => command.startsWith('journalctl'))).toBe(true);
  });

  test('waiting for failed resolves on failed', async () => {
    const { context } = fakeContext([show('failed', 'failed', 'exit-code')]);
    await expect(waitForUnit(context, 'app', { state: 'failed' })).resolves.toMatchObject({ activeState: 'failed', result: 'exit-code' });
  });

  test('a timeout names the state last seen', async () => {
    const { context } = fakeContext([show('activating', 'start')]);
    await expect(waitForUnit(context, 'slow.service', { timeout: 150 })).rejects.toThrow(/waiting for slow.service to be active \(\d+ checks?\)\.\nLast observed: slow.service is activating \(start\), result success/);
  });

  test('a target the guest reported active needs no command, even without SSH', async () => {
    const notify = new NotifyEvents();
    const { context, commands } = fakeContext([], { hasSsh: false, notify });
    const waiting = waitForUnit(context, 'app.target');
    const raw = 'X_SYSTEMD_UNIT_ACTIVE=app.target';
    notify.push({ time: 1, raw, fields: parseNotifyFields(raw) });
    await expect(waiting).resolves.toMatchObject({ unit: 'app.target', activeState: 'active' });
    expect(commands).toEqual([]);
    await expect(waitForUnit(context, 'app.service')).rejects.toThrow(/needs SSH/);
  });
});

describe('guest waits', () => {
  test('waitForFile times out with what stat said', async () => {
    const { context } = fakeContext([{ exitCode: 1, stderr: "stat: cannot statx '/run/x': No such file or directory" }]);
    await expect(waitForFile(context, '/run/x', { timeout: 150 })).rejects.toThrow(/Last observed: stat: cannot statx '\/run\/x': No such file or directory/);
    await expect(waitForFile(context, 'relative', { timeout: 150 })).rejects.toThrow(/path: expected an absolute guest path/);
  });

  test('waitForPort resolves with the sockets on the port, or names the ports that listen', async () => {
    const line = (port: string) => `   0: 00000000:${port} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0`;
    const { context } = fakeContext([{ stdout: line('0016') }, { stdout: `${line('0016')}\n${line('1F90')}` }]);
    await expect(waitForPort(context, 8080)).resolves.toEqual([{ address: '0.0.0.0', port: 8080 }]);
    const { context: quiet } = fakeContext([{ stdout: line('0016'), exitCode: 1 }]);
    await expect(waitForPort(quiet, 8080, { timeout: 150 })).rejects.toThrow(/Last observed: listening TCP ports: 22 \(0\.0\.0\.0\)/);
    await expect(waitForPort(quiet, 70_000)).rejects.toThrow(/port: expected a TCP port number from 1 to 65535, got 70000/);
  });

  test('waitUntilSucceeds returns the successful run; waitUntilFails the failing one', async () => {
    const { context } = fakeContext([{ exitCode: 1, stderr: 'not yet' }, { exitCode: 0, stdout: 'done' }]);
    await expect(waitUntilSucceeds(context, 'check')).resolves.toMatchObject({ exitCode: 0, stdout: 'done' });
    const { context: failing } = fakeContext([{ exitCode: 0 }, { exitCode: 0 }, { exitCode: 2, stderr: 'gone' }]);
    await expect(waitUntilFails(failing, ['test', '-e', '/x'])).resolves.toMatchObject({ exitCode: 2, stderr: 'gone' });
    const { context: stuck } = fakeContext([{ exitCode: 1, stderr: 'line 1\nline 2\nstill down' }]);
    await expect(waitUntilSucceeds(stuck, 'curl x', { timeout: 150 })).rejects.toThrow(/waiting for `curl x` to succeed \(\d+ checks?\)\.\nLast observed: exit status 1; stderr: line 1 ⏎ line 2 ⏎ still down/);
    expect(describeRun({ exitCode: null, signal: 'KILL', stdout: '', stderr: '' })).toBe('killed by signal KILL');
    await expect(waitUntilSucceeds(context, '  ')).rejects.toThrow(/command: expected a shell command line/);
  });
});

describe('the console', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vmspawn-waits-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('lines are read as they come, cleaned of carriage returns and colours', async () => {
    const path = join(dir, 'lines.log');
    await writeFile(path, 'first\r\n[\x1b[0;32m  OK  \x1b[0m] Started x.\r\nlog');
    const lines = new ConsoleLines(path, false);
    expect(await lines.readNew()).toEqual(['first', '[  OK  ] Started x.']);
    expect(lines.partial).toBe('log');
    await appendFile(path, 'in: \r\n');
    expect(await lines.readNew()).toEqual(['login: ']);
    expect(await lines.readNew()).toEqual([]);
    expect(cleanConsoleText('a\x1b[?25lb')).toBe('ab');
    expect(matchesLine('Started x.', /started/gi)).toBe(true);
    expect(matchesLine('Started x.', /started/gi)).toBe(true);
  });

  test('waitForConsole finds earlier lines, later lines, and with since now only later ones', async () => {
    const path = join(dir, 'console.log');
    await writeFile(path, 'boot line: marker-1\n');
    const { context } = fakeContext([], { consoleLog: path, hasSsh: false });
    await expect(waitForConsole(context, 'marker-1')).resolves.toBe('boot line: marker-1');
    const later = waitForConsole(context, /marker-(\d)/, { since: 'now' });
    await appendFile(path, 'other\nnow marker-2\n');
    await expect(later).resolves.toBe('now marker-2');
    await expect(waitForConsole(context, 'marker-9', { timeout: 150 })).rejects.toThrow(/Last observed: last console line: "now marker-2"/);
    await expect(waitForConsole(context, 'x', { since: 'later' as 'now' })).rejects.toThrow(/since: expected 'boot' or 'now'/);
  });
});
