/** The dispatcher: help, version, unknown commands and flags, exit codes, with an in-memory terminal. */
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import type { CliIo } from '../../src/cli/command.js';
import { commands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  stdout.on('data', (chunk: Buffer) => chunks.stdout.push(chunk));
  stderr.on('data', (chunk: Buffer) => chunks.stderr.push(chunk));
  const io: CliIo = { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: '/project', signal: new AbortController().signal };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(chunks.stdout).toString(), stderr: Buffer.concat(chunks.stderr).toString() };
}

describe('vitest-vmspawn', () => {
  test('--help and -h list every command and the exit codes', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout } = await cli(flag);
      expect(code).toBe(0);
      for (const command of commands) expect(stdout).toContain(`  ${command.name}`);
      expect(stdout).toMatch(/Exit codes:\n {2}0 {2}success\n {2}1 .*\n {2}2 {2}usage error/);
    }
  });

  test('no command: the help on stderr, exit 2', async () => {
    expect(await cli()).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('Usage: vitest-vmspawn COMMAND') });
  });

  test('--version prints the package version', async () => {
    expect(await cli('--version')).toEqual({ code: 0, stdout: expect.stringMatching(/^vitest-vmspawn \d+\.\d+\.\d+\n$/), stderr: '' });
  });

  test('an unknown command or top-level flag exits 2, naming it with a suggestion', async () => {
    expect(await cli('rnu')).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "rnu" (did you mean run?); commands: run') });
    expect(await cli('--verison')).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown flag --verison (did you mean --version?)') });
  });

  test('every command has --help and -h, with its usage', async () => {
    for (const command of commands) {
      for (const flag of ['--help', '-h']) {
        const { code, stdout } = await cli(command.name, flag);
        expect(code, command.name).toBe(0);
        expect(stdout, command.name).toContain(`vitest-vmspawn ${command.name}`);
      }
    }
  });

  test('a usage error in a command exits 2, names the flag and points to the command\'s help', async () => {
    const { code, stderr } = await cli('run', '--rma=1G');
    expect(code).toBe(2);
    expect(stderr).toBe('vitest-vmspawn run: unknown flag --rma (did you mean --ram?).\nSee "vitest-vmspawn run --help".\n');
  });

  test('engine option problems are reported by flag, exit 2, before any image is built', async () => {
    const { code, stderr } = await cli('run', '--ram=lots', '--cpus=0', '-q');
    expect(code).toBe(2);
    expect(stderr).toContain('  - --ram: expected a number of bytes');
    expect(stderr).toContain('  - --cpus: expected at least 1 virtual CPU');
  });
});
