/** The options and result of `vm.exec()`. */
import type { ExecAbortedError, ExecError } from '../errors.js';

export interface ExecOptions {
  /** Written to the command's standard input, which is then closed. */
  input?: string | Uint8Array;
  /**
   * Milliseconds after which the command is abandoned with an {@link ExecAbortedError}: its channel
   * is closed and every guest process it started is killed. Counted from the call, including any wait
   * for a free SSH channel.
   * @default no limit (bounded by the test's own timeout)
   */
  timeout?: number;
  /** Abandons the command when aborted. */
  signal?: AbortSignal;
  /**
   * Throw an {@link ExecError} when the command exits with a non-zero status or is killed by a signal.
   * With `false`, the result is returned and `failed` tells.
   * @default true
   */
  reject?: boolean;
  /**
   * Remove one trailing newline from stdout and stderr.
   * @default true
   */
  stripFinalNewline?: boolean;
  /**
   * Environment variables for the command, on top of the login environment. They are set in the
   * command line (sshd's `AcceptEnv` would refuse them), quoted for the shell, so any value works
   * except one with a NUL byte. Names are letters, digits and underscores, not starting with a digit.
   * @default none
   */
  env?: Readonly<Record<string, string>>;
  /**
   * Guest directory the command runs in. When it does not exist (or `user` cannot enter it) the
   * command is not run: it fails with exit status 1 and a message naming the directory on stderr.
   * @default the user's home directory (`/root`)
   */
  cwd?: string;
  /**
   * Guest user that runs the command (through `runuser -u`, so no password or PAM login is
   * involved); `env` and `cwd` apply to that user's command. The SSH login stays root's.
   * @default 'root'
   */
  user?: string;
  /**
   * Called with each piece of standard output as it arrives (text, split on any byte but never in
   * the middle of a UTF-8 character), for following long commands. `stdout` in the result still
   * holds all of it. A callback that throws abandons the command and `exec` rejects with its error.
   * @default none
   */
  onStdout?: (chunk: string) => void;
  /**
   * Like {@link onStdout}, for standard error.
   * @default none
   */
  onStderr?: (chunk: string) => void;
}

export interface ExecResult {
  /** The command line as the guest's shell ran it. */
  command: string;
  stdout: string;
  stderr: string;
  /** Exit status; `null` when the command was killed by a signal. */
  exitCode: number | null;
  /** Name of the signal that killed the command, e.g. `KILL`. */
  signal: string | undefined;
  /** Whether the command exited with a non-zero status or was killed. */
  failed: boolean;
  /** Milliseconds from sending the request to the channel closing. */
  durationMs: number;
}
