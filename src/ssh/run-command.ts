/**
 * One command on one SSH channel: collect its output, report how it ended, and abandon it on a
 * timeout or an abort signal.
 */
import { StringDecoder } from 'node:string_decoder';
import type ssh2 from 'ssh2';
import { ExecAbortedError, ExecConnectionLostError, ExecError } from '../errors.js';
import type { ExecOptions, ExecResult } from './exec-types.js';

export interface RunningCommand {
  /** The command line as the guest's shell runs it. */
  commandLine: string;
  /** When the caller asked for it (performance.now()), for `durationMs`. */
  started: number;
  /** Why the channel closed without an exit status (undefined: the connection is up), asked only when it did. */
  whyClosedEarly: () => Promise<'guest-stopped' | 'connection-lost' | undefined>;
  /** Ends what the command started in the guest after it was abandoned. */
  onAbandon: () => void;
}

export function runOnChannel(channel: ssh2.ClientChannel, command: RunningCommand, options: ExecOptions, deadline: number | undefined): Promise<ExecResult> {
  const { commandLine } = command;
  return new Promise<ExecResult>((resolve, reject) => {
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
      command.onAbandon();
    };
    const timer = deadline === undefined ? undefined : setTimeout(() => abandon('timeout'), Math.max(0, deadline - performance.now()));
    const onAbort = () => abandon('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    // A callback that throws ends the command with its error; the rest of the output is dropped.
    const failInCallback = (error: unknown) => {
      finish({ error: error instanceof Error ? error : new Error(String(error)) });
      channel.close();
      command.onAbandon();
    };
    const stdoutCollector = collect(stdout, options.onStdout, failInCallback);
    const stderrCollector = collect(stderr, options.onStderr, failInCallback);
    channel.on('data', stdoutCollector.add);
    channel.stderr.on('data', stderrCollector.add);
    channel.on('exit', (code: number | null, signalName?: string) => {
      exitCode = code;
      exitSignal = signalName ?? undefined;
    });
    channel.on('close', () => {
      if (settled) return;
      stdoutCollector.flush();
      stderrCollector.flush();
      if (settled) return;
      const result: ExecResult = {
        command: commandLine,
        stdout: text(stdout),
        stderr: text(stderr),
        exitCode,
        signal: exitSignal,
        failed: exitCode !== 0,
        durationMs: performance.now() - command.started,
      };
      if (exitCode === null && exitSignal === undefined) {
        // The connection closes its channels before it reports its own end: ask on the next turn.
        setImmediate(() => {
          void command.whyClosedEarly().then((early) => {
            // A command that stopped the guest (poweroff, systemctl exit) returns its result under reject: false.
            if (early === 'connection-lost' || (early === 'guest-stopped' && options.reject !== false)) {
              finish({ error: new ExecConnectionLostError(commandLine, early, result.stdout, result.stderr) });
            } else {
              settleWith(result);
            }
          });
        });
      } else {
        settleWith(result);
      }
    });
    const settleWith = (result: ExecResult) => {
      if (result.failed && options.reject !== false) {
        finish({ error: new ExecError(commandLine, result.exitCode, result.stdout, result.stderr, result.signal) });
      } else {
        finish({ result });
      }
    };
    channel.end(options.input === undefined ? undefined : Buffer.from(options.input));
  });
}

/**
 * A 'data' listener that keeps each chunk and hands it, decoded, to `callback` (if any); `flush`
 * hands on what an incomplete UTF-8 character at the very end left.
 */
function collect(chunks: Buffer[], callback: ((chunk: string) => void) | undefined, onError: (error: unknown) => void): { add: (chunk: Buffer) => void; flush: () => void } {
  // Keeps the bytes of a UTF-8 character that a chunk boundary splits until the rest arrives.
  const decoder = new StringDecoder('utf8');
  let failed = false;
  const deliver = (text: string) => {
    if (!callback || failed || text === '') return;
    try {
      callback(text);
    } catch (error) {
      failed = true;
      onError(error);
    }
  };
  return {
    add: (chunk) => {
      chunks.push(chunk);
      if (callback) deliver(decoder.write(chunk));
    },
    flush: () => {
      if (callback) deliver(decoder.end());
    },
  };
}
