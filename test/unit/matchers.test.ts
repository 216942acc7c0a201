/** The matchers' logic and failure messages, on made-up journal entries and exec results. */
import { describe, expect, test } from 'vitest';
import { toJournalEntry, type JournalEntry } from '../../src/journal/journal-entry.js';
import { formatEntry, formatEntryList } from '../../src/matchers/format-entries.js';
import { vmspawnMatchers } from '../../src/matchers/index.js';
import { nearestEntries } from '../../src/matchers/nearest-entries.js';
import { parsePriority } from '../../src/matchers/priority.js';
import { parseJsonUnits, parsePlainUnits } from '../../src/matchers/systemctl-output.js';
import type { ExecOptions, ExecResult } from '../../src/ssh/exec-types.js';

expect.extend(vmspawnMatchers);

let clock = 1_700_000_000_000_000;
function entry(fields: Record<string, string>): JournalEntry {
  clock += 1_000_000;
  return toJournalEntry({ __REALTIME_TIMESTAMP: String(clock), PRIORITY: '6', ...fields });
}

const journal = [
  entry({ _SYSTEMD_UNIT: 'sshd@0.service', SYSLOG_IDENTIFIER: 'sshd-session', PRIORITY: '6', MESSAGE: 'Accepted publickey for root', _PID: '210' }),
  entry({ _SYSTEMD_UNIT: 'sshd@0.service', SYSLOG_IDENTIFIER: 'sshd-session', PRIORITY: '3', MESSAGE: 'pam_env(sshd:session): Unable to open env file: /etc/default/locale', _PID: '210' }),
  entry({ SYSLOG_IDENTIFIER: 'kernel', PRIORITY: '4', MESSAGE: 'acpi PNP0A03:00: fail to add MMCONFIG information' }),
  entry({ _SYSTEMD_UNIT: 'app.service', SYSLOG_IDENTIFIER: 'app', PRIORITY: '2', MESSAGE: 'database unreachable', _PID: '300' }),
  ...Array.from({ length: 30 }, (_, index) => entry({ _SYSTEMD_UNIT: 'app.service', SYSLOG_IDENTIFIER: 'app', MESSAGE: `tick ${index}`, _PID: '300' })),
];

function result(overrides: Partial<ExecResult>): ExecResult {
  return { command: 'ls /nope', stdout: '', stderr: '', exitCode: 0, signal: undefined, failed: false, durationMs: 5, ...overrides };
}

describe('priorities', () => {
  test('accept names and numbers 0–7, and name the option when wrong', () => {
    expect(parsePriority('err', 'p')).toBe(3);
    expect(parsePriority(0, 'p')).toBe(0);
    expect(parsePriority('debug', 'p')).toBe(7);
    expect(() => parsePriority('error', 'toHaveNoEntries(options).priority')).toThrow(
      'toHaveNoEntries(options).priority: "error" is not a journal priority. Use one of emerg, alert, crit, err, warning, notice, info, debug or a number 0–7',
    );
    expect(() => parsePriority(8, 'p')).toThrow(/8 is not a journal priority/);
    expect(() => parsePriority(2.5, 'p')).toThrow(/2.5 is not/);
  });
});

describe('entry formatting', () => {
  test('shows time (UTC), priority, identifier[pid], unit and message on one line', () => {
    expect(formatEntry(journal[1]!)).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} err sshd-session\[210\] \(sshd@0\.service\): pam_env\(sshd:session\): Unable to open env file: \/etc\/default\/locale$/,
    );
    expect(formatEntry(entry({ MESSAGE: 'a\nb' }))).toMatch(/ info unknown: a⏎b$/);
  });

  test('caps long messages and long lists', () => {
    expect(formatEntry(entry({ MESSAGE: 'x'.repeat(1000) })).length).toBeLessThan(350);
    const list = formatEntryList(journal, 3);
    expect(list.split('\n')).toHaveLength(4);
    expect(list).toMatch(/… 31 more not shown$/);
    const last = formatEntryList(journal, 2, 'last');
    expect(last.split('\n')[0]).toBe('    … 32 earlier not shown');
    expect(last).toMatch(/tick 29$/);
  });
});

describe('nearest entries', () => {
  test('are the last few of the same unit, else identifier, else message, else the journal', () => {
    const byUnit = nearestEntries(journal, { unit: 'app.service', message: 'ready' }, 3);
    expect(byUnit.relation).toBe('of unit app.service');
    expect(byUnit.total).toBe(31);
    expect(byUnit.entries.map((found) => found.message)).toEqual(['tick 27', 'tick 28', 'tick 29']);

    const byIdentifier = nearestEntries(journal, { identifier: 'sshd-session', priority: 0 }, 5);
    expect(byIdentifier.relation).toBe('with identifier sshd-session');
    expect(byIdentifier.entries).toHaveLength(2);

    const byMessage = nearestEntries(journal, { unit: 'nope.service', message: /MMCONFIG/ }, 5);
    expect(byMessage.relation).toBe('with that message (any unit, any priority)');
    expect(byMessage.entries.map((found) => found.identifier)).toEqual(['kernel']);

    const anything = nearestEntries(journal, { unit: 'nope.service' }, 2);
    expect(anything.relation).toBe('in the journal');
    expect(anything.entries.map((found) => found.message)).toEqual(['tick 28', 'tick 29']);
  });
});

describe('toContainEntry', () => {
  test('passes on a match from an array, a journal or a machine', () => {
    expect(journal).toContainEntry({ unit: 'sshd@0.service', message: /Accepted/ });
    expect({ entries: () => journal }).toContainEntry({ identifier: 'app', priority: 'crit' });
    expect({ journal: { entries: () => journal } }).toContainEntry({ fields: { _PID: '300' }, message: 'tick 3' });
    expect(journal).not.toContainEntry({ unit: 'app.service', message: 'tock' });
  });

  test('fails listing the last entries of the same unit, not the whole journal', () => {
    let message = '';
    try {
      expect(journal).toContainEntry({ unit: 'app.service', message: /ready/ });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^expected a journal entry with unit=app\.service, message=\/ready\/ among 34 entries, but none matched\.\nEntries of unit app\.service \(the last 8 of 31\):\n/);
    expect(message).toContain('tick 29');
    expect(message).not.toContain('tick 21');
    expect(message.split('\n')).toHaveLength(10);
  });

  test('negated, fails listing the matching entries', () => {
    expect(() => expect(journal).not.toContainEntry({ identifier: 'sshd-session' })).toThrow(
      /^expected no journal entry with identifier=sshd-session among 34 entries, but found 2:\n.*Accepted publickey for root\n.*Unable to open env file/,
    );
    expect(() => expect(journal).not.toContainEntry({ unit: 'app.service' })).toThrow(/found 31:(\n.*){10}\n {4}… 21 more not shown$/);
  });

  test('rejects what is not a journal, and typos in the match', () => {
    expect(() => expect(42).toContainEntry({ unit: 'x' })).toThrow('toContainEntry() needs a machine, its journal (vm.journal) or an array of journal entries; it got number.');
    expect(() => expect(journal).toContainEntry({ unti: 'x' } as never)).toThrow('toContainEntry(match).unti is not a match field; use unit, identifier, priority, message, fields.');
    expect(() => expect(journal).toContainEntry({ priority: 'error' } as never)).toThrow(/toContainEntry\(match\)\.priority: "error" is not a journal priority/);
    expect(() => expect(journal).toContainEntry({ message: 3 } as never)).toThrow('toContainEntry(match).message must be a string (contained in the message) or a RegExp; got number.');
  });
});

describe('toHaveNoEntries', () => {
  test('priority selects that level and more severe ones', () => {
    expect(journal).toHaveNoEntries({ priority: 'emerg' });
    expect(journal).toHaveNoEntries({ priority: 1 });
    expect(() => expect(journal).toHaveNoEntries({ priority: 'crit' })).toThrow(/found 1:\n.* crit app\[300\] \(app\.service\): database unreachable\n/);
  });

  test('fails listing the offending entries, with how many were allowed', () => {
    expect(() =>
      expect(journal).toHaveNoEntries({ priority: 'warning', allow: [{ identifier: 'kernel', message: /MMCONFIG/ }] }),
    ).toThrow(
      new RegExp(
        '^expected no journal entries with priority=warning, but found 2 \\(1 more were allowed\\):\n' +
          '.* err sshd-session\\[210\\] \\(sshd@0\\.service\\): pam_env.*\n' +
          '.* crit app\\[300\\] \\(app\\.service\\): database unreachable\n' +
          'Fix their cause, or pass the expected ones in allow',
      ),
    );
  });

  test('passes when every match is allowed; negated, fails', () => {
    const allow = [{ identifier: 'sshd-session', message: 'pam_env' }, { unit: 'app.service' }];
    expect(journal).toHaveNoEntries({ priority: 'err', allow });
    expect(() => expect(journal).not.toHaveNoEntries({ priority: 'err', allow })).toThrow('expected journal entries with priority=err, but found none among 34 entries (2 more were allowed).');
    expect(journal).not.toHaveNoEntries({ priority: 'err' });
  });

  test('caps the list of offending entries', () => {
    expect(() => expect(journal).toHaveNoEntries({ unit: 'app.service' })).toThrow(/found 31:(\n.*){10}\n {4}… 21 more not shown\nFix/);
  });

  test('names the option that is wrong', () => {
    expect(() => expect(journal).toHaveNoEntries('err' as never)).toThrow(/toHaveNoEntries\(options\) must be an object like \{ priority: 'err'/);
    expect(() => expect(journal).toHaveNoEntries({ priority: 'err', allow: [{ idenitfier: 'x' }] } as never)).toThrow(
      'toHaveNoEntries(options).allow[0].idenitfier is not a match field',
    );
    expect(() => expect(journal).toHaveNoEntries({ allow: {} } as never)).toThrow('toHaveNoEntries(options).allow must be an array');
  });
});

describe('toSucceed and toExitWith', () => {
  test('pass and fail on the exit status', () => {
    expect(result({})).toSucceed();
    expect(result({ exitCode: 2, failed: true })).not.toSucceed();
    expect(result({ exitCode: 2, failed: true })).toExitWith(2);
    expect(result({})).toExitWith(0);
    expect(result({ exitCode: null, signal: 'KILL', failed: true })).not.toSucceed();
  });

  test('fail with the command, how it ended and the tail of its output', () => {
    const stderr = Array.from({ length: 40 }, (_, index) => `error line ${index}`).join('\n');
    const failed = result({ exitCode: 2, failed: true, stderr, stdout: 'partial' });
    let message = '';
    try {
      expect(failed).toSucceed();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      [
        'expected the command to succeed, but it exited with status 2.',
        '  command: ls /nope',
        '  stderr (last 15 of 40 lines):',
        '    … 25 earlier lines not shown',
        ...Array.from({ length: 15 }, (_, index) => `    error line ${index + 25}`),
        '  stdout:',
        '    partial',
      ].join('\n'),
    );
    expect(() => expect(result({ exitCode: null, signal: 'KILL', failed: true })).toExitWith(0)).toThrow(
      /^expected the command to exit with status 0, but it was killed by signal KILL\.\n {2}command: ls \/nope\n {2}stderr: \(empty\)\n {2}stdout: \(empty\)$/,
    );
    expect(() => expect(result({})).not.toSucceed()).toThrow(/^expected the command to fail, but it exited with status 0\./);
    expect(() => expect(result({ exitCode: 1 })).not.toExitWith(1)).toThrow(/^expected the command not to exit with status 1, but it exited with status 1\./);
  });

  test('reject what is not an exec result, and bad statuses', () => {
    expect(() => expect(Promise.resolve()).toSucceed()).toThrow('toSucceed() needs the result of vm.exec(command, { reject: false }); it got object (a promise: await vm.exec(…) first).');
    expect(() => expect(result({})).toExitWith(256)).toThrow('toExitWith(status): status must be an integer exit status 0–255; got 256.');
  });
});

describe('unit matchers', () => {
  /** A machine whose systemctl answers from a table of command lines. */
  function fakeMachine(answers: Record<string, Partial<ExecResult>>, entries: JournalEntry[] = journal) {
    const commands: string[] = [];
    return {
      commands,
      journal: { entries: (match: { unit?: string } = {}) => entries.filter((found) => match.unit === undefined || found.unit === match.unit) },
      async exec(command: string | readonly string[], _options?: ExecOptions): Promise<ExecResult> {
        const line = typeof command === 'string' ? command : command.join(' ');
        commands.push(line);
        const answer = Object.entries(answers).find(([prefix]) => line.startsWith(prefix))?.[1] ?? { exitCode: 1, stderr: `unexpected command ${line}` };
        return result({ command: line, ...answer });
      },
    };
  }

  test('toHaveUnitActive asks systemctl is-active, and describes the unit only when failing', async () => {
    const active = fakeMachine({ 'systemctl is-active -- ssh.service': { stdout: 'active' } });
    await expect(active).toHaveUnitActive('ssh.service');
    expect(active.commands).toEqual(['systemctl is-active -- ssh.service']);

    const failed = fakeMachine({
      'systemctl is-active -- app.service': { stdout: 'failed', exitCode: 3 },
      'systemctl status': { stdout: '× app.service - App\n     Active: failed (Result: exit-code)', exitCode: 3 },
    });
    await expect(expect(failed).toHaveUnitActive('app.service')).rejects.toThrow(
      /^expected unit app\.service to be active, but it is failed\.\n {2}systemctl status app\.service:\n {4}× app\.service - App\n {4} {5}Active: failed \(Result: exit-code\)\n {2}last journal entries of app\.service:\n {4}… 25 earlier not shown\n.*tick 24\n(.*\n){4}.*tick 29$/,
    );
    expect(failed.commands[1]).toBe('systemctl status --no-pager --full --lines=0 -- app.service');
    await expect(failed).not.toHaveUnitActive('app.service');
    await expect(expect(active).not.toHaveUnitActive('ssh.service')).rejects.toThrow(/^expected unit ssh\.service not to be active, but it is active\./);
  });

  test('toHaveNoFailedUnits reads the JSON listing, and falls back to the plain one', async () => {
    const clean = fakeMachine({ 'systemctl list-units --state=failed --output=json': { stdout: '[]' } });
    await expect(clean).toHaveNoFailedUnits();

    const failing = fakeMachine({
      'systemctl list-units --state=failed --output=json': { exitCode: 1, stderr: 'Unknown option --output' },
      'systemctl list-units --state=failed --plain': { stdout: 'app.service loaded failed failed The App\n' },
      'systemctl status': { stdout: '× app.service - The App', exitCode: 3 },
    });
    await expect(expect(failing).toHaveNoFailedUnits()).rejects.toThrow(
      /^expected no failed units, but 1 failed: app\.service \(failed\/failed\)\n {2}systemctl status app\.service:\n {4}× app\.service - The App\n {2}last journal entries of app\.service:/,
    );
    await expect(() => expect({}).toHaveNoFailedUnits()).rejects.toThrow('toHaveNoFailedUnits() needs a started machine');
  });

  test('systemctl listings parse as JSON or as a plain table', () => {
    expect(parseJsonUnits('[{"unit":"a.service","load":"loaded","active":"failed","sub":"failed","description":"A thing"}]')).toEqual([
      { unit: 'a.service', load: 'loaded', active: 'failed', sub: 'failed', description: 'A thing' },
    ]);
    expect(parseJsonUnits('UNIT LOAD')).toBeUndefined();
    expect(parseJsonUnits('{"unit":"x"}')).toBeUndefined();
    expect(parsePlainUnits('● b.mount loaded failed failed /b mount\n\n')).toEqual([{ unit: 'b.mount', load: 'loaded', active: 'failed', sub: 'failed', description: '/b mount' }]);
  });
});
