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
