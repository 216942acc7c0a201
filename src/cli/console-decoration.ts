/**
 * How `run` decorates the terminal that shows the console, as systemd-vmspawn does: the background
 * (`--background=COLOR` as given, or by default a green tint of the terminal's own background) and the
 * window title ("Virtual Machine NAME on HOST"). Only a terminal is decorated, and only when the
 * environment allows colours (`NO_COLOR`, `SYSTEMD_COLORS`, `TERM=dumb`);
 * `SYSTEMD_TINT_BACKGROUND=no` turns the default tint off, `SYSTEMD_ADJUST_TERMINAL_TITLE=no` the title.
 */
import { hostname } from 'node:os';
import type { CliIo } from './command.js';
import type { ConsoleDecoration } from './console-decorator.js';
import { booleanWord } from './flag-values.js';
import { queryTerminalBackground, tintColor, type Rgb } from './terminal-background.js';

/** The Linux console's background (`TERM=linux`): black. It does not answer OSC 11, and systemd takes it as black without asking. */
const LINUX_CONSOLE_BACKGROUND: Rgb = { red: 0, green: 0, blue: 0 };

const isFalse = (value: string | undefined) => booleanWord(value) === false;
const isTrue = (value: string | undefined) => booleanWord(value) === true;

/** Whether colour and title sequences may be written to a terminal in this environment, as systemd decides it. */
export function colorsAllowed(env: NodeJS.ProcessEnv): boolean {
  const systemdColors = env.SYSTEMD_COLORS?.toLowerCase();
  if (isFalse(systemdColors)) return false;
  if (isTrue(systemdColors) || ['16', '256', '24bit'].includes(systemdColors ?? '')) return true;
  if (env.NO_COLOR !== undefined) return false;
  return env.TERM !== undefined && env.TERM !== '' && env.TERM !== 'dumb';
}

/** Whether the terminal can show emoji: `SYSTEMD_EMOJI`, else a UTF-8 locale on a terminal other than the Linux console. */
export function emojiAllowed(env: NodeJS.ProcessEnv): boolean {
  if (isFalse(env.SYSTEMD_EMOJI)) return false;
  if (isTrue(env.SYSTEMD_EMOJI)) return true;
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(locale) && env.TERM !== 'linux';
}

/** The window title for machine `name` and the prefix kept on titles the guest sets. */
export function windowTitle(name: string, env: NodeJS.ProcessEnv, host = hostname()): Pick<ConsoleDecoration, 'title' | 'titlePrefix'> {
  const dot = emojiAllowed(env) ? '🟢 ' : undefined;
  return { title: `${dot ?? ''}Virtual Machine ${name}${host ? ` on ${host}` : ''}`, titlePrefix: dot };
}

/**
 * The decoration for `run`'s console of machine `name`: `background` as given (`''`: none), or, when
 * it is undefined, the default tint of the terminal's colour; the window title. Undefined: leave the
 * terminal as it is (not a terminal, or no colours wanted).
 */
export async function chooseConsoleDecoration(
  { background, name }: { background: string | undefined; name: string },
  io: Pick<CliIo, 'stdin' | 'stdout' | 'env'>,
): Promise<ConsoleDecoration | undefined> {
  const stdout = io.stdout as NodeJS.WriteStream;
  if (!stdout.isTTY || !colorsAllowed(io.env)) return undefined;
  const decoration: ConsoleDecoration = isFalse(io.env.SYSTEMD_ADJUST_TERMINAL_TITLE) ? {} : windowTitle(name, io.env);
  if (background !== undefined) {
    if (background !== '') decoration.background = background;
  } else if (!isFalse(io.env.SYSTEMD_TINT_BACKGROUND) && (io.stdin as NodeJS.ReadStream).isTTY) {
    const terminal = io.env.TERM === 'linux' ? LINUX_CONSOLE_BACKGROUND : await queryTerminalBackground(io.stdin as NodeJS.ReadStream, stdout);
    if (terminal) decoration.background = tintColor(terminal);
  }
  return decoration.background || decoration.title ? decoration : undefined;
}
