import type { MachineExit } from './machine/summary.js';

/**
 * Error classes thrown by vitest-vmspawn. Each carries what is needed to act on it:
 * the option that was wrong, the console tail of a failed boot, the command that failed.
 */

/** Base class of every error this package throws on purpose. */
export class VmspawnError extends Error {
  override name = 'VmspawnError';
}

/** One problem found in the options passed to a machine or to the plugin. */
export interface OptionProblem {
  /** Dotted path of the option, e.g. `ram` or `setCredential.my.secret`. */
  option: string;
  /** What is wrong and what is accepted. */
  message: string;
}

/** The options were rejected before anything was spawned. */
export class InvalidOptionsError extends VmspawnError {
  override name = 'InvalidOptionsError';
  readonly problems: readonly OptionProblem[];

  constructor(problems: readonly OptionProblem[], subject = 'machine options') {
    const lines = problems.map((problem) =>
      problem.option ? `  - ${problem.option}: ${problem.message}` : `  - ${problem.message}`,
    );
    super(`Invalid ${subject}:\n${lines.join('\n')}`);
    this.problems = problems;
  }
}

/** A program the engine needs is not installed. */
export class MissingToolError extends VmspawnError {
  override name = 'MissingToolError';
  constructor(
    readonly tool: string,
    readonly hint: string,
  ) {
    super(`${tool} was not found on PATH. ${hint}`);
  }
}

/** What a failed or timed-out boot leaves for debugging. */
export interface BootFailureDetails {
  /** Last lines the guest printed on its console. */
  consoleTail: string;
  /** Directory with console log, QEMU log, notify log and journal. */
  artifactsDir: string | undefined;
  /** Units the guest's systemd reported as failed, in order. */
  failedUnits?: readonly string[];
  /** The last error-priority journal lines (`identifier[pid]: message`). */
  journalErrors?: readonly string[];
}

/** The guest did not become ready: QEMU exited, the boot timed out, or SSH never answered. */
export class BootError extends VmspawnError {
  override name = 'BootError';
  readonly consoleTail: string;
  readonly artifactsDir: string | undefined;
  /** Units the guest's systemd reported as failed, in order. */
  readonly failedUnits: readonly string[];
  /** The last error-priority lines of the guest's journal. */
  readonly journalErrors: readonly string[];

  constructor(reason: string, details: BootFailureDetails, options?: ErrorOptions) {
    const where = details.artifactsDir
      ? `Artifacts (console.log, qemu.log, notify.log, journal): ${details.artifactsDir}`
      : 'Set artifactsDir to keep the console log, QEMU log and journal of failed boots.';
    const tail = details.consoleTail.trim()
      ? `Last console lines:\n${indent(details.consoleTail.trimEnd())}`
      : 'The guest printed nothing on its console (is console= on the kernel command line right?).';
    super(`${reason}\n${tail}\n${where}`, options);
    this.consoleTail = details.consoleTail;
    this.artifactsDir = details.artifactsDir;
    this.failedUnits = details.failedUnits ?? [];
    this.journalErrors = details.journalErrors ?? [];
  }

  /**
   * What test runners serialize and print after the message: the message already holds the console
   * tail, so the serialized form leaves `consoleTail` out rather than print it twice.
   */
  toJSON(): { name: string; message: string; stack: string | undefined; artifactsDir: string | undefined } {
    return { name: this.name, message: this.message, stack: this.stack, artifactsDir: this.artifactsDir };
  }
}

/** A command run with `vm.exec()` exited with a non-zero status. */
export class ExecError extends VmspawnError {
  override name = 'ExecError';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
    readonly signal: string | undefined,
  ) {
    const status = signal
      ? `was killed by signal ${signal}`
      : exitCode === null
        ? 'ended without reporting an exit status'
        : `exited with status ${exitCode}`;
    const output = [
      stderr.trim() ? `stderr:\n${indent(tail(stderr))}` : '',
      stdout.trim() ? `stdout:\n${indent(tail(stdout))}` : '',
    ].filter(Boolean);
    super(
      `Command in the guest ${status}: ${command}\n${output.join('\n') || '(no output)'}\n` +
        'Pass { reject: false } to get the result instead of this error.',
    );
  }
}

/** A command run with `vm.exec()` did not finish in time or was aborted. */
export class ExecAbortedError extends VmspawnError {
  override name = 'ExecAbortedError';
  constructor(
    readonly command: string,
    readonly reason: 'timeout' | 'aborted',
    readonly stdout: string,
    readonly stderr: string,
    timeoutMs?: number,
  ) {
    super(
      reason === 'timeout'
        ? `Command in the guest did not finish within ${timeoutMs} ms: ${command}`
        : `Command in the guest was aborted: ${command}`,
    );
  }
}

/**
 * The SSH connection a command ran on closed before the command ended: because the guest shut down
 * or because the connection was lost (sshd killed or restarted). After a loss, the next `exec()`
 * opens a new connection.
 */
export class ExecConnectionLostError extends VmspawnError {
  override name = 'ExecConnectionLostError';
  constructor(
    readonly command: string,
    /** Why the connection closed, as far as the machine knows. */
    readonly reason: 'guest-stopped' | 'connection-lost',
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(
      reason === 'guest-stopped'
        ? `Command in the guest did not finish: the guest shut down while it ran: ${command}`
        : `Command in the guest did not finish: the SSH connection to the guest was lost while it ran (was sshd stopped?); ` +
            `the machine is still running and the next exec() connects again: ${command}`,
    );
  }
}

/** Waiting for a journal entry or notify message ran out of time. */
export class WaitTimeoutError extends VmspawnError {
  override name = 'WaitTimeoutError';
}

/** The machine is not in a state that allows the call (for example exec after shutdown). */
export class MachineStateError extends VmspawnError {
  override name = 'MachineStateError';
}

/** The machine ended, not by its own shutdown, while a command ran in it. */
export class MachineEndedError extends MachineStateError {
  override name = 'MachineEndedError';
  constructor(
    readonly command: string,
    /** How the machine ended (also in its summary). */
    readonly exit: MachineExit,
    options?: ErrorOptions,
  ) {
    super(`The machine ended while a command ran in the guest: ${exit.reason}.\nCommand: ${command}`, options);
  }
}

function tail(text: string, maxLines = 20): string {
  const lines = text.trimEnd().split('\n');
  return lines.length > maxLines ? ['…', ...lines.slice(-maxLines)].join('\n') : lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
