/**
 * One SSH connection per machine, over a vsock stream, with one channel per command: a new
 * connection costs a full key exchange (about a second under TCG), a channel a few milliseconds.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import { ExecAbortedError, ExecError, MachineStateError, VmspawnError } from '../errors.js';
import type { MachineSshKeys } from './keys.js';
import { quoteArgument, toShellCommand } from './shell-quote.js';

export interface ExecOptions {
  /** Written to the command's standard input, which is then closed. */
  input?: string | Uint8Array;
  /**
   * Milliseconds after which the command is abandoned (its channel closed) with an {@link ExecAbortedError}.
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

export interface SshSessionOptions {
  keys: MachineSshKeys;
  /** Handshake deadline in milliseconds. */
  timeout: number;
  /** Called when the connection drops. */
  onClose?: () => void;
}

export class SshSession {
  #closed = false;

  private constructor(private readonly client: ssh2.Client) {}

  /** Runs the SSH handshake over `stream`, accepting only the pinned host key. */
  static open(stream: Duplex, options: SshSessionOptions): Promise<SshSession> {
    const client = new ssh2.Client();
    return new Promise<SshSession>((resolve, reject) => {
      let hostKeyMismatch = false;
      client.once('ready', () => {
        client.off('error', onError);
        const session = new SshSession(client);
        client.on('error', () => undefined);
        client.once('close', () => {
          session.#closed = true;
          options.onClose?.();
        });
        resolve(session);
      });
      const onError = (error: Error) => {
        client.end();
        reject(
          hostKeyMismatch
            ? new VmspawnError('The guest presented an SSH host key other than the one the engine installed (tmpfiles.extra credential); refusing to connect.')
            : new VmspawnError(`SSH handshake with the guest failed: ${error.message}`, { cause: error }),
        );
      };
      client.once('error', onError);
      client.connect({
        sock: stream as never,
        username: 'root',
        privateKey: options.keys.clientPrivateKey,
        readyTimeout: options.timeout,
        algorithms: { serverHostKey: ['ssh-ed25519'] },
        hostVerifier: (key: Buffer) => {
          hostKeyMismatch = !key.equals(options.keys.hostPublicKeyBlob);
          return !hostKeyMismatch;
        },
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `command` (a shell command line, or an argument vector that is quoted for the shell). */
  exec(command: string | readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const commandLine = toShellCommand(command);
    if (this.#closed) return Promise.reject(new MachineStateError(`Cannot run "${commandLine}": the SSH connection to the guest is closed.`));
    const started = performance.now();
    const abandonable = options.timeout !== undefined || options.signal !== undefined;
    // sshd ignores signal requests for commands without a terminal, so a command that may be
    // abandoned runs with a marker in its environment, which its descendants inherit and by
    // which they are found and killed.
    const marker = abandonable ? `VMSPAWN_EXEC_ID=${randomUUID()}` : undefined;
    const remoteCommand = marker ? `exec env ${marker} "$SHELL" -c ${quoteArgument(commandLine)}` : commandLine;
    return new Promise<ExecResult>((resolve, reject) => {
      this.client.exec(remoteCommand, (error, channel) => {
        if (error) return reject(new VmspawnError(`Cannot start "${commandLine}" in the guest: ${error.message}`, { cause: error }));
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let exitCode: number | null = null;
        let exitSignal: string | undefined;
        let settled = false;
        const text = (chunks: Buffer[]) => {
          const value = Buffer.concat(chunks).toString('utf8');
          return options.stripFinalNewline === false ? value : value.replace(/\r?\n$/, '');
        };
        const finish = (outcome: { result: ExecResult } | { error: Error }) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          if ('error' in outcome) reject(outcome.error);
          else resolve(outcome.result);
        };
        // Settles at once: the guest's sshd may keep the channel open until the command ends.
        const abandon = (reason: 'timeout' | 'aborted') => {
          finish({ error: new ExecAbortedError(commandLine, reason, text(stdout), text(stderr), options.timeout) });
          channel.close();
          if (marker) this.#killMarked(marker);
        };
        const timer = options.timeout === undefined ? undefined : setTimeout(() => abandon('timeout'), options.timeout);
        const onAbort = () => abandon('aborted');
        options.signal?.addEventListener('abort', onAbort, { once: true });
        if (options.signal?.aborted) onAbort();

        channel.on('data', (chunk: Buffer) => stdout.push(chunk));
        channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        channel.on('exit', (code: number | null, signalName?: string) => {
          exitCode = code;
          exitSignal = signalName ?? undefined;
        });
        channel.on('close', () => {
          const result: ExecResult = {
            command: commandLine,
            stdout: text(stdout),
            stderr: text(stderr),
            exitCode,
            signal: exitSignal,
            failed: exitCode !== 0,
            durationMs: performance.now() - started,
          };
          if (result.failed && options.reject !== false) {
            finish({ error: new ExecError(commandLine, exitCode, result.stdout, result.stderr, exitSignal) });
          } else {
            finish({ result });
          }
        });
        channel.end(options.input === undefined ? undefined : Buffer.from(options.input));
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.client.end();
  }

  /** Kills every guest process whose environment carries `marker` (best effort, not awaited). */
  #killMarked(marker: string): void {
    const script =
      'for environ in /proc/[0-9]*/environ; do ' +
      `if tr '\\0' '\\n' < "$environ" 2>/dev/null | grep -qxF ${quoteArgument(marker)}; then ` +
      'pid=${environ#/proc/}; kill -KILL "${pid%/environ}" 2>/dev/null; fi; done';
    if (!this.#closed) this.client.exec(script, (error, channel) => error || channel.resume().end());
  }
}
