/**
 * `journal`'s journalctl-like selection and output, pure: the filters (-u, -t, -p, -g) become a
 * JournalMatch, -n keeps the last entries, -o picks the line format.
 */
import { matchesEntry, PRIORITY_NAMES, type JournalEntry, type JournalMatch, type PriorityName } from '../journal/journal-entry.js';
import { formatJournalLine } from '../journal/journal-line.js';

export const OUTPUT_MODES = ['short', 'short-precise', 'cat', 'json', 'verbose'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

export interface JournalFilterFlags {
  unit?: string | undefined;
  identifier?: string | undefined;
  priority?: string | undefined;
  grep?: string | undefined;
  lines?: string | undefined;
  output?: string | undefined;
}

export interface JournalView {
  match: JournalMatch;
  /** Show only the last N entries (of those already written). */
  lines: number | undefined;
  output: OutputMode;
}

export class JournalFlagError extends Error {
  override name = 'JournalFlagError';
}

/** Checks the flags; each error names the flag, the value and what is accepted. */
export function planJournalView(flags: JournalFilterFlags): JournalView {
  const match: JournalMatch = {};
  if (flags.unit !== undefined) match.unit = flags.unit.includes('.') ? flags.unit : `${flags.unit}.service`;
  if (flags.identifier !== undefined) match.identifier = flags.identifier;
  if (flags.priority !== undefined) match.priority = parsePriority(flags.priority);
  if (flags.grep !== undefined) {
    try {
      match.message = new RegExp(flags.grep);
    } catch (error) {
      throw new JournalFlagError(`-g/--grep "${flags.grep}" is not a regular expression: ${(error as Error).message}`);
    }
  }
  let lines: number | undefined;
  if (flags.lines !== undefined) {
    if (!/^\d+$/.test(flags.lines)) throw new JournalFlagError(`-n/--lines "${flags.lines}" is not a number of entries (0 or more)`);
    lines = Number(flags.lines);
  }
  const output = (flags.output ?? 'short') as OutputMode;
  if (!OUTPUT_MODES.includes(output)) throw new JournalFlagError(`-o/--output "${flags.output}" is not one of ${OUTPUT_MODES.join(', ')}`);
  return { match, lines, output };
}

/** A priority as journalctl -p takes it: a name (err, warning, …) or a number 0–7. */
export function parsePriority(value: string): PriorityName | number {
  const lower = value.trim().toLowerCase();
  if (/^[0-7]$/.test(lower)) return Number(lower);
  const aliases: Record<string, PriorityName> = { error: 'err', warn: 'warning', emergency: 'emerg', critical: 'crit' };
  const name = aliases[lower] ?? lower;
  if ((PRIORITY_NAMES as readonly string[]).includes(name)) return name as PriorityName;
  throw new JournalFlagError(`-p/--priority "${value}" is not a priority: use 0–7 or ${PRIORITY_NAMES.join(', ')}`);
}

/** The entries that match, the last `lines` of them when given. */
export function selectEntries(entries: readonly JournalEntry[], view: JournalView): JournalEntry[] {
  const selected = entries.filter((entry) => matchesEntry(entry, view.match));
  return view.lines === undefined ? selected : view.lines === 0 ? [] : selected.slice(-view.lines);
}

/** One entry as `-o` says, without the line end. */
export function formatEntry(entry: JournalEntry, output: OutputMode): string {
  switch (output) {
    case 'cat':
      return entry.message;
    case 'json':
      return JSON.stringify(entry.fields);
    case 'verbose':
      return [`${entry.time?.toISOString() ?? '-'}`, ...Object.entries(entry.fields).map(([name, value]) => `    ${name}=${value}`)].join('\n');
    default:
      return formatJournalLine(entry, { unit: output === 'short-precise' });
  }
}
