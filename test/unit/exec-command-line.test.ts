/**
 * The exec command line with env, cwd and user: built as text, and run by the host's bash the way
 * the guest's login shell runs it, so quoting is proven by what the command sees.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { checkExecOptions, commandScript, execOptionProblems, remoteCommandLine } from '../../src/ssh/exec-command-line.js';
import type { ExecOptions } from '../../src/ssh/exec-types.js';

/** Runs a remote command line as sshd does: `$SHELL -c LINE`. */
async function runAsSshd(line: string): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
  const result = await execa('/bin/bash', ['-c', line], { reject: false, env: { SHELL: '/bin/bash' }, stripFinalNewline: false });
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
}

describe('remoteCommandLine', () => {
  test('a command without env, cwd, user or marker is sent unchanged', () => {
    expect(remoteCommandLine('echo "$HOME" | wc -c', {})).toBe('echo "$HOME" | wc -c');
  });

  test('env values with spaces, quotes, newlines, $, backquotes and backslashes arrive verbatim', async () => {
    const env = {
      SPACED: 'two  words ',
      SINGLE: "it's",
      DOUBLE: 'say "hi"',
      LINES: 'first\nsecond\n\nfourth\n',
      SHELLISH: '$HOME `id` $(id) \\n \\ * ? ~ ; & | > <',
      EMPTY: '',
      UNICODE: 'grüße ☃',
    };
    const command = Object.keys(env).map((name) => `printf '%s\\0' "$${name}"`).join('; ');
    const { stdout, exitCode } = await runAsSshd(remoteCommandLine(command, { env }));
    expect(exitCode).toBe(0);
    expect(stdout.split('\0').slice(0, -1)).toEqual(Object.values(env));
  });

  test('env reaches the processes the command starts, and the marker too', async () => {
    const line = remoteCommandLine('printenv GREETING; printenv VMSPAWN_EXEC_ID', { env: { GREETING: "a 'b' c" } }, 'VMSPAWN_EXEC_ID=abc-123');
    expect(line.startsWith('exec env VMSPAWN_EXEC_ID=abc-123 "$SHELL" -c ')).toBe(true);
    expect((await runAsSshd(line)).stdout).toBe("a 'b' c\nabc-123\n");
  });

  test('cwd is entered before the command; a missing one fails with status 1 naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), "vmspawn cwd 'quoted' "));
    try {
      expect((await runAsSshd(remoteCommandLine('pwd', { cwd: dir }))).stdout).toBe(`${dir}\n`);
      const missing = await runAsSshd(remoteCommandLine('echo ran', { cwd: join(dir, 'gone') }));
      expect(missing.exitCode).toBe(1);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toBe(`vitest-vmspawn: cannot run the command in ${join(dir, 'gone')}: no such directory in the guest, or the user cannot enter it (exec option cwd)\n`);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  test('a cwd starting with a dash is not taken for an option of cd', () => {
    expect(commandScript('true', { cwd: '-P' })).toMatch(/^cd -- -P /);
  });

  test('user runs the script through runuser in root\'s shell, entering the home directory unless cwd is given', () => {
    expect(remoteCommandLine('id -un', { user: 'tester' })).toBe(`exec runuser -u tester -- "$SHELL" -c 'cd -- "$HOME" 2>/dev/null || cd /\nid -un'`);
    expect(remoteCommandLine('pwd', { user: 'tester', cwd: '/srv/app dir', env: { A: 'x y' } }, 'VMSPAWN_EXEC_ID=1')).toBe(
      `exec env VMSPAWN_EXEC_ID=1 runuser -u tester -- "$SHELL" -c 'cd -- '\\''/srv/app dir'\\'' 2>/dev/null || { printf '\\''%s\\n'\\'' ` +
        `'\\''vitest-vmspawn: cannot run the command in /srv/app dir: no such directory in the guest, or the user cannot enter it (exec option cwd)'\\'' >&2; exit 1; }\n` +
        `export A='\\''x y'\\''\npwd'`,
    );
  });

  test.runIf(process.getuid?.() === 0)('as root on the host, runuser really switches to the user with env and cwd', async () => {
    const line = remoteCommandLine('printf "%s|%s|%s" "$(id -un)" "$(pwd)" "$NOTE"', { user: 'nobody', cwd: '/', env: { NOTE: 'it\'s "me"' } });
    const result = await runAsSshd(line);
    expect(result).toMatchObject({ stdout: 'nobody|/|it\'s "me"', exitCode: 0 });
  });
});

describe('exec option checks', () => {
  test('good options pass', () => {
    expect(execOptionProblems({ env: { A: '1', _b2: '' }, cwd: '/tmp', user: 'app-user.1', onStdout: () => undefined })).toEqual([]);
  });

  test('each bad option is named with what is accepted', () => {
    const options = { env: { '1ST': 'x', 'WITH-DASH': 'x', NUMBER: 5, NUL: 'a\0b' }, cwd: '', user: '-rf', onStderr: 'log' } as unknown as ExecOptions;
    expect(execOptionProblems(options)).toEqual([
      { option: 'env.1ST', message: 'is not a variable name: use letters, digits and underscores, not starting with a digit' },
      { option: 'env.WITH-DASH', message: 'is not a variable name: use letters, digits and underscores, not starting with a digit' },
      { option: 'env.NUMBER', message: 'expected a string, got number 5; convert it with String()' },
      { option: 'env.NUL', message: 'contains a NUL byte, which no environment variable can hold' },
      { option: 'cwd', message: 'expected a guest directory path, got ""' },
      { option: 'user', message: `expected a guest user name (letters, digits, '_', '.', '-'; not starting with '-'), got "-rf"` },
      { option: 'onStderr', message: 'expected a function called with each chunk, got "log"' },
    ]);
    expect(execOptionProblems({ env: ['A=1'] } as unknown as ExecOptions)).toEqual([
      { option: 'env', message: 'expected an object of variable names and string values, got an array' },
    ]);
  });

  test('checkExecOptions throws one InvalidOptionsError listing them', () => {
    expect(() => checkExecOptions({ user: 'root; reboot' })).toThrow(InvalidOptionsError);
    expect(() => checkExecOptions({ user: 'root; reboot' })).toThrow(/Invalid exec options:\n {2}- user: expected a guest user name/);
  });
});
