/**
 * The contract of every `vitest-vmspawn` subcommand: a module `src/cli/commands/<name>.ts` exports
 * `export const command: CliCommand`, and src/cli/commands/index.ts lists it.
 */

/** What a subcommand reads and writes instead of the process globals, so tests can run it in-process. */
export interface CliIo {
  /** Where results go (the console log with `--console=read-only`, JSON, tables). */
  stdout: NodeJS.WritableStream;
  /** Where progress, errors and usage errors go. */
  stderr: NodeJS.WritableStream;
  /** The user's terminal or pipe (an interactive console, `exec` input). */
  stdin: NodeJS.ReadableStream;
  /** The environment (`VMSPAWN_*` variables). */
  env: NodeJS.ProcessEnv;
  /** The directory relative paths are resolved against. */
  cwd: string;
  /** Aborted on SIGINT/SIGTERM: the command stops what it started and returns. */
  signal: AbortSignal;
}

/** One subcommand of `vitest-vmspawn`. */
export interface CliCommand {
  /** The word that selects it: `vitest-vmspawn <name> …`. */
  name: string;
  /** One line for the top-level `--help`. */
  summary: string;
  /** The full `--help` text of the subcommand. */
  usage: string;
  /**
   * Runs it with the arguments after its name and returns the exit code: 0 ok, 1 the thing
   * checked or run failed, 2 a usage error (`run` passes the guest's EXIT_STATUS through).
   */
  run(argv: string[], io: CliIo): Promise<number>;
}

/** The exit codes every subcommand shares. */
export const EXIT_OK = 0;
/** The machine, image or command checked or run failed. */
export const EXIT_FAILURE = 1;
/** The command line was wrong (an unknown flag, a bad value): nothing was started. */
export const EXIT_USAGE = 2;
