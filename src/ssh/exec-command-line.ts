/**
 * The command line an SSH exec request carries: the caller's command, with `cwd`, `env` and `user`
 * applied by the guest's shell. sshd's `AcceptEnv` takes no variables, so they are exported in the
 * script itself; `runuser -u` switches to another user without a login or password.
 */
import { InvalidOptionsError, type OptionProblem } from '../errors.js';
import type { ExecOptions } from './exec-types.js';
import { quoteArgument } from './shell-quote.js';

export type CommandContext = Pick<ExecOptions, 'env' | 'cwd' | 'user'>;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What useradd accepts (and `runuser -u` looks up): no leading dash, at most 32 characters. */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?$/;

/** Problems with `env`, `cwd`, `user`, `onStdout` and `onStderr`, each naming the option. */
export function execOptionProblems(options: ExecOptions): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const { env, cwd, user } = options;
  if (env !== undefined) {
    if (env === null || typeof env !== 'object' || Array.isArray(env)) {
      problems.push({ option: 'env', message: `expected an object of variable names and string values, got ${describe(env)}` });
    } else {
      for (const [name, value] of Object.entries(env)) {
        if (!VARIABLE_NAME.test(name)) {
          problems.push({ option: `env.${name}`, message: 'is not a variable name: use letters, digits and underscores, not starting with a digit' });
        } else if (typeof value !== 'string') {
          problems.push({ option: `env.${name}`, message: `expected a string, got ${describe(value)}; convert it with String()` });
        } else if (value.includes('\0')) {
          problems.push({ option: `env.${name}`, message: 'contains a NUL byte, which no environment variable can hold' });
        }
      }
    }
  }
  if (cwd !== undefined && (typeof cwd !== 'string' || cwd === '' || cwd.includes('\0'))) {
    problems.push({ option: 'cwd', message: `expected a guest directory path, got ${describe(cwd)}` });
  }
  if (user !== undefined && (typeof user !== 'string' || !USER_NAME.test(user))) {
    problems.push({ option: 'user', message: `expected a guest user name (letters, digits, '_', '.', '-'; not starting with '-'), got ${describe(user)}` });
  }
  for (const option of ['onStdout', 'onStderr'] as const) {
    if (options[option] !== undefined && typeof options[option] !== 'function') {
      problems.push({ option, message: `expected a function called with each chunk, got ${describe(options[option])}` });
    }
  }
  return problems;
}

/** Throws an {@link InvalidOptionsError} naming every bad option, before anything runs. */
export function checkExecOptions(options: ExecOptions): void {
  const problems = execOptionProblems(options);
  if (problems.length > 0) throw new InvalidOptionsError(problems, 'exec options');
}

/**
 * The script the user's shell runs: enter `cwd` (or, for another user, that user's home), export
 * `env`, then run `commandLine`. Without either it is `commandLine` unchanged.
 */
export function commandScript(commandLine: string, context: CommandContext): string {
  const lines: string[] = [];
  if (context.cwd !== undefined) {
    const message = `vitest-vmspawn: cannot run the command in ${context.cwd}: no such directory in the guest, or the user cannot enter it (exec option cwd)`;
    lines.push(`cd -- ${quoteArgument(context.cwd)} 2>/dev/null || { printf '%s\\n' ${quoteArgument(message)} >&2; exit 1; }`);
  } else if (context.user !== undefined) {
    // runuser keeps root's working directory, which another user usually cannot enter.
    lines.push('cd -- "$HOME" 2>/dev/null || cd /');
  }
  for (const [name, value] of Object.entries(context.env ?? {})) lines.push(`export ${name}=${quoteArgument(value)}`);
  return [...lines, commandLine].join('\n');
}

/**
 * The command line sent in the exec request. `marker` (`NAME=value`) goes into the environment of
 * everything the command starts, so that an abandoned command's processes can be found and killed.
 */
export function remoteCommandLine(commandLine: string, context: CommandContext, marker?: string): string {
  const script = commandScript(commandLine, context);
  if (context.user === undefined && marker === undefined) return script;
  const withMarker = marker === undefined ? '' : `env ${marker} `;
  const asUser = context.user === undefined ? '' : `runuser -u ${quoteArgument(context.user)} -- `;
  // "$SHELL" is root's login shell, expanded before runuser: the user's command runs in the same shell.
  return `exec ${withMarker}${asUser}"$SHELL" -c ${quoteArgument(script)}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
