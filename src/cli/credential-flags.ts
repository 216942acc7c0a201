/**
 * vmspawn's `--set-credential=ID:VALUE` and `--load-credential=ID:PATH`, with systemd's rules:
 * the ID ends at the first colon (a backslash takes the next character literally), VALUE is
 * unescaped as systemd's cunescape() with NUL bytes allowed, and a PATH without a slash names a
 * credential of this process's own `$CREDENTIALS_DIRECTORY`.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from './usage-error.js';

/** Unescapes C-style escapes as systemd's cunescape(…, UNESCAPE_ACCEPT_NUL); throws a message on a bad escape. */
export function cunescape(text: string): Uint8Array {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let index = 0; index < text.length; index++) {
    const character = text[index] ?? '';
    if (character !== '\\') {
      const codePoint = text.codePointAt(index) ?? 0;
      if (codePoint > 0xffff) index++;
      bytes.push(...encoder.encode(String.fromCodePoint(codePoint)));
      continue;
    }
    const escape = text[index + 1];
    if (escape === undefined) throw new Error('a trailing backslash (write \\\\ for a backslash)');
    const simple = SIMPLE_ESCAPES[escape];
    if (simple !== undefined) {
      bytes.push(simple);
      index += 1;
    } else if (escape === 'x') {
      bytes.push(hexDigits(text, index + 2, 2, '\\x'));
      index += 3;
    } else if (escape === 'u' || escape === 'U') {
      const length = escape === 'u' ? 4 : 8;
      const codePoint = hexDigits(text, index + 2, length, `\\${escape}`);
      if (escape === 'U' && !validUnicode(codePoint)) throw new Error(`\\U${text.slice(index + 2, index + 10)} is not a valid Unicode code point`);
      bytes.push(...utf8(codePoint));
      index += 1 + length;
    } else if (/[0-7]/.test(escape)) {
      const digits = text.slice(index + 1, index + 4);
      if (!/^[0-7]{3}$/.test(digits)) throw new Error(`\\${digits} is not an octal escape (exactly three digits 0-7, e.g. \\012)`);
      const value = Number.parseInt(digits, 8);
      if (value > 255) throw new Error(`\\${digits} is above \\377 (255)`);
      bytes.push(value);
      index += 3;
    } else {
      throw new Error(`\\${escape} is not an escape (known: \\a \\b \\f \\n \\r \\t \\v \\s \\\\ \\" \\' \\xHH \\uHHHH \\UHHHHHHHH \\OOO)`);
    }
  }
  return Uint8Array.from(bytes);
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 0x07, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b, '\\': 0x5c, '"': 0x22, "'": 0x27, s: 0x20,
};

function hexDigits(text: string, start: number, count: number, escape: string): number {
  const digits = text.slice(start, start + count);
  if (digits.length !== count || !/^[0-9a-fA-F]+$/.test(digits)) {
    throw new Error(`${escape}${digits} needs exactly ${count} hexadecimal digits (e.g. ${escape}${'0'.repeat(count - 2)}41)`);
  }
  return Number.parseInt(digits, 16);
}

/** systemd's unichar_is_valid(). */
function validUnicode(codePoint: number): boolean {
  if (codePoint >= 0x110000) return false;
  if ((codePoint & 0xfffff800) === 0xd800) return false;
  if (codePoint >= 0xfdd0 && codePoint <= 0xfdef) return false;
  return (codePoint & 0xfffe) !== 0xfffe;
}

/** UTF-8 bytes of any code point below 0x110000, surrogates included (as systemd's utf8_encode_unichar). */
function utf8(codePoint: number): number[] {
  if (codePoint < 0x80) return [codePoint];
  if (codePoint < 0x800) return [0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f)];
  if (codePoint < 0x10000) return [0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f)];
  return [0xf0 | (codePoint >> 18), 0x80 | ((codePoint >> 12) & 0x3f), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f)];
}

/** Splits `ID:REST` as systemd's extract_first_word(…, ":", EXTRACT_DONT_COALESCE_SEPARATORS). */
function splitId(flag: string, argument: string): { id: string; rest: string } {
  let id = '';
  for (let index = 0; index < argument.length; index++) {
    const character = argument[index] ?? '';
    if (character === '\\') {
      const next = argument[index + 1];
      if (next === undefined) throw new UsageError(`${flag}=${argument}: the ID ends in a backslash.`);
      id += next;
      index++;
    } else if (character === ':') {
      return { id, rest: argument.slice(index + 1) };
    } else {
      id += character;
    }
  }
  throw new UsageError(`${flag}=${argument}: missing value; expected ${flag}=ID:${flag === '--load-credential' ? 'PATH' : 'VALUE'}.`);
}

/** systemd's credential_name_valid(): a valid file name and fd name. */
function checkCredentialName(flag: string, argument: string, id: string): void {
  const valid = id !== '' && id !== '.' && id !== '..' && id.length <= 255 && /^[\x20-\x7e]+$/.test(id) && !/[/:]/.test(id);
  if (!valid) {
    throw new UsageError(
      `${flag}=${argument}: "${id}" is not a valid credential name (1-255 printable ASCII characters, no "/" or ":", not "." or "..").`,
    );
  }
}

/** The credential of one `--set-credential=ID:VALUE`: a string when the bytes are UTF-8, else the bytes. */
export function parseSetCredential(argument: string): { id: string; value: string | Uint8Array } {
  const flag = '--set-credential';
  const { id, rest } = splitId(flag, argument);
  checkCredentialName(flag, argument, id);
  let bytes: Uint8Array;
  try {
    bytes = cunescape(rest);
  } catch (error) {
    throw new UsageError(`${flag}=${argument}: ${(error as Error).message}.`);
  }
  const text = Buffer.from(bytes).toString('utf8');
  return { id, value: Buffer.from(text, 'utf8').equals(bytes) ? text : bytes };
}

/**
 * The credential of one `--load-credential=ID:PATH`: PATH with a slash is a file (relative to `cwd`),
 * without one it names a credential passed to this process (`$CREDENTIALS_DIRECTORY/PATH`).
 */
export function parseLoadCredential(argument: string, env: NodeJS.ProcessEnv, cwd: string): { id: string; path: string } {
  const flag = '--load-credential';
  const { id, rest } = splitId(flag, argument);
  checkCredentialName(flag, argument, id);
  if (rest.includes('/')) return { id, path: isAbsolute(rest) ? rest : resolve(cwd, rest) };
  if (rest === '' || rest === '.' || rest === '..') throw new UsageError(`${flag}=${argument}: expected a file path or the name of a credential passed to this command.`);
  const directory = env.CREDENTIALS_DIRECTORY;
  if (!directory) {
    throw new UsageError(
      `${flag}=${argument}: "${rest}" has no slash, so it names a credential passed to this command, but $CREDENTIALS_DIRECTORY is not set; write ./${rest} for a file in the current directory.`,
    );
  }
  return { id, path: join(directory, rest) };
}
