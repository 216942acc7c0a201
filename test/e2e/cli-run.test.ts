/**
 * `vitest-vmspawn run` as a user runs it: the built CLI in a child process. One boot of the default
 * image proves the flags reach the guest (a credential holding a unit, a kernel argument that starts
 * it), that the guest's exit status becomes the exit code, that --console=read-only streams the
 * console and that --forward-journal writes the journal; a second boot types into the console with
 * --console=interactive on a terminal, tinted with --background and titled; a usage error exits 2 before
 * anything starts.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { NEEDS_VSOCK, useWorkDir, WITHOUT_VSOCK } from './helpers.js';

const CLI = resolve(import.meta.dirname, '../../bin/vitest-vmspawn.mjs');
const workDir = useWorkDir('vmspawn-cli-run-');

const EXIT_UNIT = ['[Unit]', 'Description=Exit with status 42', '[Service]', 'Type=oneshot', 'ExecStart=systemctl exit 42'].join('\\n');

test('run boots the default image headless and exits with the guest\'s exit status', async (context) => {
  context.skip(WITHOUT_VSOCK, NEEDS_VSOCK); // EXIT_STATUS travels over vsock (notify)
  const artifactsDir = join(workDir(), 'artifacts');
  const journalDir = join(workDir(), 'journal');
  const result = await execa('node', [
    CLI, 'run',
    '--machine=cli-run',
    `--artifacts-dir=${artifactsDir}`,
    `--set-credential=systemd.extra-unit.exit42.service:${EXIT_UNIT}`,
    // No readiness wait: the unit may end the machine before SSH would answer.
    '--notify-ready=no', '--pass-ssh-key=no',
    '--console=read-only',
    `--forward-journal=${journalDir}`,
    '--', 'systemd.wants=exit42.service',
  ], { reject: false, timeout: 200_000, stdin: 'ignore' });
  expect(result.exitCode, result.stderr).toBe(42);
  expect(result.stdout).toMatch(/Linux version/);
  expect(result.stderr).toContain(`Artifacts: ${artifactsDir}`);
  expect(existsSync(join(artifactsDir, 'summary.json'))).toBe(true);
  expect(await readdir(journalDir)).toEqual([expect.stringMatching(/^cli-run\.(journal|export)$/)]);
});

const ASK_UNIT = [
  '[Unit]', 'Description=Ask on the serial console for the exit status',
  '[Service]', 'Type=simple', 'StandardInput=tty', 'StandardOutput=tty', 'TTYPath=/dev/ttyS0',
  'ExecStart=/bin/sh -c \'echo "exit status?"; read status; systemctl exit "$$status"\'',
].join('\\n');

/** `args` as one POSIX shell command line (for `script -c`). */
const shellLine = (args: string[]) => args.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');

test('--console=interactive connects a terminal to the serial console, tinted by --background, titled with the machine', async (context) => {
  context.skip(WITHOUT_VSOCK, NEEDS_VSOCK);
  const run = [
    'node', CLI, 'run', '--machine=cli-console', '--console=interactive', '--background=41', `--artifacts-dir=${join(workDir(), 'console')}`,
    `--set-credential=systemd.extra-unit.ask.service:${ASK_UNIT}`,
    '--', 'systemd.mask=serial-getty@ttyS0.service', 'systemd.wants=ask.service',
  ];
  // A real terminal, as a user has: script(1) runs it on a pseudo-terminal and relays our pipes to it.
  const child = execa('script', ['--quiet', '--return', '--command', shellLine(run), '/dev/null'], {
    reject: false, timeout: 200_000, stdin: 'pipe', env: { TERM: 'xterm-256color', NO_COLOR: undefined, SYSTEMD_COLORS: undefined },
  });
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('exit status?')) resolve();
    });
    void child.then((result) => reject(new Error(`run ended before the prompt: ${result.exitCode}\n${result.stderr}\n${seen}`)));
  });
  child.stdin!.write('7\r');
  const result = await child;
  expect(result.exitCode, result.stdout).toBe(7);
  // The console's lines each start on the colour, erased to the line's end; the terminal is reset at the end.
  const console = result.stdout.slice(result.stdout.indexOf('\x1b[41m\x1b[K'));
  expect(console).toMatch(/\n\x1b\[41m\x1b\[K[^\n]*exit status\?/);
  expect(console).toContain('\x1b[0m\x1b[J');
  // The window title names the machine while the console shows; the terminal's own comes back.
  expect(result.stdout).toMatch(/\x1b\[22;2t\x1b\]2;(🟢 )?Virtual Machine cli-console on [^\x07]+\x07/);
  expect(result.stdout).toContain('\x1b[23;2t');
});

test('a usage error exits 2, names the flag and starts nothing', async () => {
  const artifactsDir = join(workDir(), 'never');
  const result = await execa('node', [CLI, 'run', `--artifacts-dir=${artifactsDir}`, '--cpu=2'], { reject: false });
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toContain('unknown flag --cpu (did you mean --cpus?)');
  expect(existsSync(artifactsDir)).toBe(false);
  // The engine's host checks, named by flag too.
  const missing = await execa('node', [CLI, 'run', '--linux=/nonexistent/vmlinuz', '--console=headless'], { reject: false });
  expect(missing.exitCode).toBe(2);
  expect(missing.stderr).toContain('  - --linux: file not found: /nonexistent/vmlinuz');
  if (!existsSync('/run/systemd/system')) {
    // --register=yes where systemd-machined cannot run: refused before anything starts, as vmspawn fails.
    const register = await execa('node', [CLI, 'run', `--artifacts-dir=${artifactsDir}`, '--register=yes'], { reject: false });
    expect(register.exitCode).toBe(1);
    expect(register.stderr).toContain('--register=yes: systemd-machined does not run here');
    expect(existsSync(artifactsDir)).toBe(false);
  }
});
