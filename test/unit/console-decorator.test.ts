/** `run`'s console on a terminal: its bytes on their way there (background, title), the default tint, the decision. */
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { chooseConsoleDecoration, colorsAllowed, emojiAllowed, windowTitle } from '../../src/cli/console-decoration.js';
import { ConsoleDecorator, parseBackgroundColor, resetsBackground } from '../../src/cli/console-decorator.js';
import { hsvToRgb, parseBackgroundReply, queryTerminalBackground, tintColor } from '../../src/cli/terminal-background.js';

const SET = '\x1b[41m';
const ERASE_LINE = '\x1b[K';

/** Writes `chunks` through one tinter and returns everything the terminal would get. */
function tint(...chunks: (string | Buffer)[]): string {
  const tinter = new ConsoleDecorator({ background: '41' });
  return tinter.begin() + chunks.map((chunk) => tinter.write(Buffer.from(chunk)).toString('latin1')).join('') + tinter.end();
}

describe('the tinted console', () => {
  test('begins with the colour and an erased line, ends with attributes and screen reset', () => {
    expect(tint('')).toBe(`${SET}${ERASE_LINE}\x1b[0m\x1b[J`);
  });

  test('each new line gets the colour and is erased with it; a carriage return sets the colour again', () => {
    expect(tint('a\nb\r\nc')).toBe(`${SET}${ERASE_LINE}a\n${SET}${ERASE_LINE}b\r${SET}\n${SET}${ERASE_LINE}c\x1b[0m\x1b[J`);
  });

  test('the line after a newline is coloured when it arrives, also in the next chunk', () => {
    expect(tint('a\n', 'b')).toBe(tint('a\nb'));
    expect(tint('a\n')).toBe(`${SET}${ERASE_LINE}a\n\x1b[0m\x1b[J`);
  });

  test('an SGR sequence that resets the background gets the colour appended; others pass unchanged', () => {
    expect(tint('\x1b[0mx')).toContain('\x1b[0;41mx');
    expect(tint('\x1b[mx')).toContain('\x1b[;41mx');
    expect(tint('\x1b[1;49mx')).toContain('\x1b[1;49;41mx');
    expect(tint('\x1b[1;31mx')).toContain('\x1b[1;31mx');
    expect(tint('\x1b[44mx')).toContain('\x1b[44mx');
    expect(tint('\x1b[2Jx')).toContain('\x1b[2Jx');
  });

  test('a sequence split across chunks is still seen', () => {
    expect(tint('\x1b', '[', '0', 'm!')).toBe(tint('\x1b[0m!'));
    expect(tint('\x1b[0', 'm!')).toContain('\x1b[0;41m!');
  });

  test('OSC sequences (a window title) pass unchanged, whether BEL or ESC \\ ends them', () => {
    expect(tint('\x1b]0;title\x07x')).toContain('\x1b]0;title\x07x');
    expect(tint('\x1b]0;title\x1b\\x')).toContain('\x1b]0;title\x1b\\x');
  });

  test('every byte of the console arrives, in order, only with sequences added (UTF-8 split across chunks included)', () => {
    const text = Buffer.from('ünïcode ✓ line\r\n\x1b[0;32mOK\x1b[0m done\n\x1b]2;t\x07tail');
    const tinter = new ConsoleDecorator({ background: '48;5;22' });
    const chunks = [text.subarray(0, 1), text.subarray(1, 9), text.subarray(9, 23), text.subarray(23)];
    const out = Buffer.concat(chunks.map((chunk) => tinter.write(chunk)));
    const added = /\x1b\[48;5;22m(\x1b\[K)?|;48;5;22(?=m)/g;
    expect(out.toString('latin1').replace(added, '')).toBe(text.toString('latin1'));
    expect(out.toString('utf8')).toContain('ünïcode ✓ line');
  });

  test('a CSI sequence longer than 64 bytes is passed on unexamined', () => {
    const long = `\x1b[${'1;'.repeat(40)}0m`;
    expect(tint(long)).toContain(long);
  });
});

describe('the window title', () => {
  const decorator = () => new ConsoleDecorator({ title: '🟢 Virtual Machine vm on host', titlePrefix: '🟢 ' });
  const through = (...chunks: string[]) => {
    const titled = decorator();
    return titled.begin() + chunks.map((chunk) => titled.write(Buffer.from(chunk)).toString('utf8')).join('') + titled.end();
  };

  test("is set at the start, after saving the terminal's, and restored at the end; no colour without a background", () => {
    expect(through('a\r\nb\x1b[0m')).toBe('\x1b[22;2t\x1b]2;🟢 Virtual Machine vm on host\x07a\r\nb\x1b[0m\x1b[23;2t');
  });

  test('a title the guest sets (OSC 0) is set again with the prefix, after BEL or ESC \\, also split across chunks', () => {
    expect(through('\x1b]0;root@guest: ~\x07$ ')).toContain('\x1b]0;root@guest: ~\x07\x1b]0;🟢 root@guest: ~\x07$ ');
    expect(through('\x1b]0;ünï\x1b\\$ ')).toContain('\x1b]0;ünï\x1b\\\x1b]0;🟢 ünï\x07$ ');
    expect(through('\x1b]0;ro', 'ot\x1b', '\\$')).toContain('\x1b\\\x1b]0;🟢 root\x07$');
  });

  test('other OSC sequences and over-long titles pass unchanged', () => {
    expect(through('\x1b]2;t\x07x')).toContain('\x1b]2;t\x07x\x1b[23;2t');
    const long = `\x1b]0;${'t'.repeat(80)}\x07x`;
    expect(through(long)).toContain(`${long}\x1b[23;2t`);
  });

  test('names the machine and the host, with the green dot where emoji show', () => {
    expect(windowTitle('web', { LANG: 'C.UTF-8', TERM: 'xterm' }, 'ci')).toEqual({ title: '🟢 Virtual Machine web on ci', titlePrefix: '🟢 ' });
    expect(windowTitle('web', { LANG: 'C', TERM: 'xterm' }, 'ci')).toEqual({ title: 'Virtual Machine web on ci', titlePrefix: undefined });
    expect(windowTitle('web', { LANG: 'C', TERM: 'xterm' }, '')).toEqual({ title: 'Virtual Machine web', titlePrefix: undefined });
  });

  test.each([
    [{ LANG: 'en_US.UTF-8', TERM: 'xterm' }, true],
    [{ LC_ALL: 'C', LANG: 'en_US.UTF-8', TERM: 'xterm' }, false],
    [{ LC_CTYPE: 'C.utf8', TERM: 'xterm' }, true],
    [{ LANG: 'C.UTF-8', TERM: 'linux' }, false],
    [{ LANG: 'C', SYSTEMD_EMOJI: 'yes' }, true],
    [{ LANG: 'C.UTF-8', TERM: 'xterm', SYSTEMD_EMOJI: '0' }, false],
  ])('emoji with %j: %s', (env, allowed) => {
    expect(emojiAllowed(env)).toBe(allowed);
  });
});

describe('which SGR parameters reset the background', () => {
  test.each([
    ['', true], ['0', true], ['00', true], ['49', true], ['1;0', true], ['41;0', true],
    ['1', false], ['31', false], ['41', false], ['0;41', false], ['49;44', false], ['0;101', false],
    ['48;5;0', false], ['38;5;0', false], ['48;2;0;0;0', false], ['38;2;0;0;0;0', true], ['48;2;1;2;3;49', true],
  ])('%j → %s', (parameters, resets) => {
    expect(resetsBackground(parameters)).toBe(resets);
  });
});

describe('--background values', () => {
  test.each(['', '41', '48;5;22', '48;2;0;64;0'])('%j is accepted', (value) => {
    expect(parseBackgroundColor('--background', value)).toBe(value);
  });
  test.each(['red', '41m', '4 1', ';41', '41;', '\x1b[41'])('%j is refused, naming the flag', (value) => {
    expect(() => parseBackgroundColor('--background', value)).toThrow(`--background=${value}: expected an ANSI SGR background colour`);
  });
});

describe('the default tint', () => {
  test('HSV to RGB', () => {
    expect(hsvToRgb(0, 100, 100)).toEqual([255, 0, 0]);
    expect(hsvToRgb(120, 100, 100)).toEqual([0, 255, 0]);
    expect(hsvToRgb(240, 100, 50)).toEqual([0, 0, 128]);
    expect(hsvToRgb(60, 0, 40)).toEqual([102, 102, 102]);
    expect(hsvToRgb(360, 100, 100)).toEqual([255, 0, 0]);
  });

  test('green, strong on a dark terminal and pale on a bright one, never black', () => {
    expect(tintColor({ red: 0, green: 0, blue: 0 })).toBe('48;2;13;51;19');
    expect(tintColor({ red: 1, green: 1, blue: 1 })).toBe('48;2;191;255;202');
    expect(tintColor({ red: 0.6, green: 0.5, blue: 0.1 })).toBe('48;2;115;153;121');
  });

  test("the terminal's answer to OSC 11, with 1 to 4 hex digits per component, ended by ST or BEL", () => {
    expect(parseBackgroundReply('\x1b]11;rgb:ffff/0000/8080\x1b\\')).toEqual({ red: 1, green: 0, blue: 0x8080 / 0xffff });
    expect(parseBackgroundReply('typed\x1b]11;rgb:ff/00/80\x07')).toEqual({ red: 1, green: 0, blue: 0x80 / 0xff });
    expect(parseBackgroundReply('\x1b]11;rgb:f/0/8\x07')).toEqual({ red: 1, green: 0, blue: 8 / 15 });
    expect(parseBackgroundReply('\x1b]11;rgb:ffff/0000/80')).toBeUndefined();
    expect(parseBackgroundReply('\x1b]10;rgb:ffff/0000/8080\x07')).toBeUndefined();
  });

  test.each([
    [{ TERM: 'xterm-256color' }, true],
    [{}, false],
    [{ TERM: 'dumb' }, false],
    [{ TERM: 'xterm', NO_COLOR: '' }, false],
    [{ TERM: 'xterm', SYSTEMD_COLORS: 'no' }, false],
    [{ TERM: 'dumb', SYSTEMD_COLORS: '256' }, true],
    [{ NO_COLOR: '1', SYSTEMD_COLORS: 'yes' }, true],
  ])('colours with %j: %s', (env, allowed) => {
    expect(colorsAllowed(env)).toBe(allowed);
  });
});

/** A terminal: stdin and stdout report isTTY; stdin's raw mode is recorded; `answer` replies to OSC 11. */
function fakeTerminal(answer?: string) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, modes: [] as boolean[] });
  Object.assign(stdin, {
    setRawMode(raw: boolean) {
      stdin.isRaw = raw;
      stdin.modes.push(raw);
      return stdin;
    },
  });
  let written = '';
  const stdout = Object.assign(new PassThrough(), { isTTY: true });
  stdout.on('data', (chunk: Buffer) => {
    written += chunk.toString('latin1');
    if (answer !== undefined && written.endsWith('\x1b]11;?\x1b\\')) setTimeout(() => stdin.write(answer), 5);
  });
  return { stdin: stdin as unknown as NodeJS.ReadStream & { modes: boolean[] }, stdout: stdout as unknown as NodeJS.WriteStream, written: () => written };
}

describe('asking the terminal', () => {
  test('the answer is read in raw mode, which is then restored', async () => {
    const terminal = fakeTerminal('\x1b]11;rgb:0000/0000/0000\x1b\\');
    await expect(queryTerminalBackground(terminal.stdin, terminal.stdout)).resolves.toEqual({ red: 0, green: 0, blue: 0 });
    expect(terminal.written()).toBe('\x1b]11;?\x1b\\');
    expect(terminal.stdin.modes).toEqual([true, false]);
  });

  test('a terminal that does not answer gives no colour, after the timeout', async () => {
    const terminal = fakeTerminal();
    await expect(queryTerminalBackground(terminal.stdin, terminal.stdout, 50)).resolves.toBeUndefined();
    expect(terminal.stdin.modes).toEqual([true, false]);
  });

  test('the decoration: the background as given, none, or the tint of what the terminal answers; the title', async () => {
    const env = { TERM: 'xterm', LANG: 'C' };
    const dark = () => fakeTerminal('\x1b]11;rgb:0000/0000/0000\x07');
    const title = expect.stringMatching(/^Virtual Machine web/);
    const choose = (background: string | undefined, io: Parameters<typeof chooseConsoleDecoration>[1]) => chooseConsoleDecoration({ background, name: 'web' }, io);
    await expect(choose('41', { ...dark(), env })).resolves.toEqual({ background: '41', title, titlePrefix: undefined });
    await expect(choose('', { ...dark(), env })).resolves.toEqual({ title, titlePrefix: undefined });
    await expect(choose(undefined, { ...dark(), env })).resolves.toMatchObject({ background: '48;2;13;51;19', title });
    await expect(choose(undefined, { ...dark(), env: { ...env, SYSTEMD_TINT_BACKGROUND: 'no' } })).resolves.toEqual({ title, titlePrefix: undefined });
    // The Linux console is not asked (it would not answer): it is black, as systemd takes it.
    const linuxConsole = fakeTerminal();
    await expect(choose(undefined, { ...linuxConsole, env: { ...env, TERM: 'linux' } })).resolves.toMatchObject({ background: '48;2;13;51;19', title });
    expect(linuxConsole.written()).toBe('');
    await expect(choose(undefined, { ...fakeTerminal(), env: { ...env, SYSTEMD_ADJUST_TERMINAL_TITLE: 'off' } })).resolves.toBeUndefined();
    await expect(choose('41', { ...dark(), env: { ...env, SYSTEMD_ADJUST_TERMINAL_TITLE: 'off' } })).resolves.toEqual({ background: '41' });
    await expect(choose('41', { ...dark(), env: { ...env, NO_COLOR: '1' } })).resolves.toBeUndefined();
    await expect(choose('41', { stdin: new PassThrough(), stdout: new PassThrough(), env })).resolves.toBeUndefined();
  });
});
