/** The value syntaxes of systemd's tools: booleans (parse_boolean), tristates with `auto`, numbers. */
import { UsageError } from './usage-error.js';

const TRUE_WORDS = ['1', 'yes', 'y', 'true', 't', 'on'];
const FALSE_WORDS = ['0', 'no', 'n', 'false', 'f', 'off'];

/** A word systemd's parse_boolean reads as true or false (case-insensitive); undefined for any other. */
export function booleanWord(value: string | undefined): boolean | undefined {
  const word = value?.toLowerCase() ?? '';
  return TRUE_WORDS.includes(word) ? true : FALSE_WORDS.includes(word) ? false : undefined;
}

/** `yes`/`no` and their synonyms, as systemd's parse_boolean (case-insensitive). */
export function parseBooleanValue(flag: string, value: string): boolean {
  const setting = booleanWord(value);
  if (setting !== undefined) return setting;
  throw new UsageError(`${flag}=${value}: expected a boolean (yes or no; also 1/0, true/false, on/off).`);
}

/** A boolean or `auto`, as systemd's parse_tristate_argument_with_auto. */
export function parseTristateValue(flag: string, value: string): boolean | 'auto' {
  if (value.toLowerCase() === 'auto') return 'auto';
  const setting = booleanWord(value);
  if (setting !== undefined) return setting;
  throw new UsageError(`${flag}=${value}: expected yes, no or auto.`);
}

/** A decimal (or 0x hexadecimal) non-negative integer. */
export function parseIntegerValue(flag: string, value: string, what: string): number {
  if (!/^(\d+|0x[0-9a-f]+)$/i.test(value)) throw new UsageError(`${flag}=${value}: expected ${what}.`);
  return Number(value);
}
