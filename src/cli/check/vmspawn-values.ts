/**
 * Values as systemd-vmspawn's command line takes them: booleans as systemd's parse_boolean()
 * reads them, `--set-credential=ID:VALUE` with C-style escapes in VALUE.
 */

/** A flag given a value it cannot take: exit code 2, the message names the flag. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const TRUE = ['1', 'yes', 'y', 'true', 't', 'on'];
const FALSE = ['0', 'no', 'n', 'false', 'f', 'off'];

/** `yes`/`no` and their systemd synonyms; `auto` too when `allowAuto`. */
export function parseBooleanFlag(flag: string, value: string, allowAuto: true): boolean | 'auto';
export function parseBooleanFlag(flag: string, value: string, allowAuto?: false): boolean;
export function parseBooleanFlag(flag: string, value: string, allowAuto = false): boolean | 'auto' {
  const lower = value.toLowerCase();
  if (TRUE.includes(lower)) return true;
  if (FALSE.includes(lower)) return false;
  if (allowAuto && lower === 'auto') return 'auto';
  throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a boolean; use yes or no${allowAuto ? ' or auto' : ''}.`);
}

/** `--set-credential=ID:VALUE`: the name and the unescaped value. */
export function parseSetCredential(value: string): [name: string, value: string] {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new UsageError(`--set-credential: ${JSON.stringify(value)} is not ID:VALUE; e.g. --set-credential=system.hostname:check.`);
  return [value.slice(0, colon), unescapeC(value.slice(colon + 1), '--set-credential')];
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', s: ' ', '\\': '\\', '"': '"', "'": "'" };

/**
 * C-style escapes as systemd's cunescape() reads them: `\n \t \r \a \b \f \v \s \\ \" \'`,
 * `\xHH`, `\NNN` (octal), `\uXXXX` and `\UXXXXXXXX`.
 */
export function unescapeC(text: string, flag: string): string {
  let result = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char !== '\\') {
      result += char;
      continue;
    }
    const next = text[index + 1];
    if (next === undefined) throw new UsageError(`${flag}: the value ends in a lone backslash; write \\\\ for a backslash.`);
    if (next in SIMPLE_ESCAPES) {
      result += SIMPLE_ESCAPES[next];
      index += 1;
      continue;
    }
    const code = escapedCode(text, index, flag);
    result += String.fromCodePoint(code.value);
    index += code.length - 1;
  }
  return result;
}

function escapedCode(text: string, index: number, flag: string): { value: number; length: number } {
  const rest = text.slice(index + 1);
  const forms: Array<[RegExp, number]> = [
    [/^x([0-9a-fA-F]{2})/, 16],
    [/^([0-7]{3})/, 8],
    [/^u([0-9a-fA-F]{4})/, 16],
    [/^U([0-9a-fA-F]{8})/, 16],
  ];
  for (const [form, base] of forms) {
    const match = form.exec(rest);
    if (!match) continue;
    const value = parseInt(match[1]!, base);
    if (value === 0 || value > 0x10ffff) throw new UsageError(`${flag}: the escape \\${match[0]} is not a character a credential can hold.`);
    return { value, length: match[0].length + 1 };
  }
  throw new UsageError(`${flag}: unknown escape \\${rest.slice(0, 1)}; use \\n, \\t, \\\\, \\xHH, \\NNN (octal) or \\uXXXX.`);
}
