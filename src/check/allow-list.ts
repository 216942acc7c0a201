/**
 * The allow-list of `check --allow`: journal lines at priority err or above that do not make an
 * image degraded. Each pattern becomes one entry of `allow` as `toHaveNoEntries({ priority: 'err',
 * allow })` takes it, and is matched the same way:
 *
 * - `unit:NAME` — entries of unit NAME (or of the system manager about it);
 * - `identifier:NAME` — entries whose SYSLOG_IDENTIFIER is NAME (`kernel` for kernel messages);
 * - either of them followed by `:REGEX` — only those whose message matches REGEX;
 * - `message:REGEX`, or a bare REGEX — entries whose message matches REGEX (any unit).
 */
import type { JournalMatch } from '../journal/journal-entry.js';
import { checkMatch } from '../matchers/match-options.js';

/** A pattern of `--allow` that cannot be used, with what is accepted. */
export class AllowPatternError extends Error {
  override name = 'AllowPatternError';
}

const ACCEPTED = 'use unit:NAME[:REGEX], identifier:NAME[:REGEX], message:REGEX or a bare REGEX';

/** The journal match of one `--allow` pattern; throws an AllowPatternError naming it. */
export function parseAllowPattern(pattern: string): JournalMatch {
  if (pattern === '') throw new AllowPatternError(`--allow: the pattern is empty; ${ACCEPTED}.`);
  const field = /^(unit|identifier):([^:]*)(?::(.*))?$/s.exec(pattern);
  let match: JournalMatch;
  if (field) {
    const [, key, name = '', regex] = field;
    if (name === '') throw new AllowPatternError(`--allow ${JSON.stringify(pattern)}: ${key}: needs a name, e.g. ${key}:${key === 'unit' ? 'systemd-networkd.service' : 'kernel'}.`);
    match = { [key as 'unit' | 'identifier']: name, ...(regex === undefined ? {} : { message: compile(regex, pattern) }) };
  } else {
    const regex = pattern.startsWith('message:') ? pattern.slice('message:'.length) : pattern;
    match = { message: compile(regex, pattern) };
  }
  return checkMatch(match, `--allow ${JSON.stringify(pattern)}`);
}

function compile(source: string, pattern: string): RegExp {
  if (source === '') throw new AllowPatternError(`--allow ${JSON.stringify(pattern)}: the regular expression is empty (it would allow every line); ${ACCEPTED}.`);
  try {
    return new RegExp(source);
  } catch (error) {
    throw new AllowPatternError(`--allow ${JSON.stringify(pattern)}: not a valid regular expression (${(error as Error).message}); ${ACCEPTED}.`);
  }
}
