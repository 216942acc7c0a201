/**
 * Sizes as systemd-vmspawn takes them: a number of bytes, or a string with an optional
 * K, M, G or T suffix to the base of 1024 ("512M", "2G", "1.5G").
 */

const MULTIPLIERS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i;

/** Human-readable description of what {@link parseSize} accepts, for error messages. */
export const SIZE_FORMAT = "a number of bytes or a string like '512M' or '2G' (K, M, G, T suffixes, base 1024)";

/** Parses a size; returns `undefined` when the text is not a size. */
export function parseSize(size: string | number): number | undefined {
  if (typeof size === 'number') {
    return Number.isFinite(size) && size >= 0 ? Math.floor(size) : undefined;
  }
  const match = SIZE_PATTERN.exec(size.trim());
  if (!match) return undefined;
  const [, amount = '', suffix = ''] = match;
  return Math.floor(Number(amount) * (MULTIPLIERS[suffix.toUpperCase()] ?? Number.NaN));
}

/** Formats a byte count with the largest suffix that divides it evenly, e.g. 1073741824 → "1G". */
export function formatSize(bytes: number): string {
  for (const suffix of ['T', 'G', 'M', 'K'] as const) {
    const multiplier = MULTIPLIERS[suffix] ?? 1;
    if (bytes >= multiplier && bytes % multiplier === 0) return `${bytes / multiplier}${suffix}`;
  }
  return String(bytes);
}

/** A byte count for people: "812 bytes", "45.8 KiB", "1.5 MiB", "23.5 GiB". */
export function describeBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'] as const;
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes;
  let unit: string = 'bytes';
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
}
