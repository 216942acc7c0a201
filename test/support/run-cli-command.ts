/** Runs one command-line subcommand in this process with captured output, for unit and e2e tests. */
import { PassThrough } from 'node:stream';
import type { CliCommand } from '../../src/cli/command.js';

export interface CliRunOptions {
  /** What stdin gives; empty by default. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
}

export interface CliRunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCliCommand(command: CliCommand, argv: string[], options: CliRunOptions = {}): Promise<CliRunResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const stdin = new PassThrough();
  stdin.end(options.input ?? '');
  const code = await command.run(argv, {
    stdout,
    stderr,
    stdin,
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal ?? new AbortController().signal,
  });
  return { code, stdout: out, stderr: err };
}
