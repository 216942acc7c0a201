/**
 * Reading what systemctl prints about units: `list-units --state=failed --output=json` (systemd
 * >= 246) or, from an older systemctl, the plain table of `list-units --state=failed --plain --no-legend`.
 */

export interface ListedUnit {
  unit: string;
  load: string;
  active: string;
  sub: string;
  description: string;
}

/** The command that lists failed units as JSON; {@link PLAIN_FAILED_UNITS_COMMAND} is the fallback. */
export const JSON_FAILED_UNITS_COMMAND = 'systemctl list-units --state=failed --output=json --no-pager';
export const PLAIN_FAILED_UNITS_COMMAND = 'systemctl list-units --state=failed --plain --no-legend --no-pager';

/** The units of a `--output=json` listing; undefined when `stdout` is not such a listing. */
export function parseJsonUnits(stdout: string): ListedUnit[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((row) => typeof row === 'object' && row !== null && typeof row.unit === 'string')) return undefined;
  return parsed.map((row: Record<string, unknown>) => ({
    unit: row.unit as string,
    load: String(row.load ?? ''),
    active: String(row.active ?? ''),
    sub: String(row.sub ?? ''),
    description: String(row.description ?? ''),
  }));
}

/** The units of a plain table: `UNIT LOAD ACTIVE SUB DESCRIPTION…`, one per line (a leading ● is dropped). */
export function parsePlainUnits(stdout: string): ListedUnit[] {
  return stdout
    .split('\n')
    .map((line) => line.replace(/^[\s●*]+/, '').trim())
    .filter(Boolean)
    .map((line) => {
      const [unit = '', load = '', active = '', sub = '', ...description] = line.split(/\s+/);
      return { unit, load, active, sub, description: description.join(' ') };
    });
}
