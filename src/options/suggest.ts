/** "Did you mean" hints for mistyped option names. */
import type { OptionProblem } from '../errors.js';

/**
 * The problem of an unknown option `key` (inside `parent`, a dotted path, if nested): the known name it
 * is closest to, and what is accepted (by default every known name).
 */
export function unknownOptionProblem(
  key: string,
  knownNames: readonly string[],
  { parent = '', accepted = `known options: ${knownNames.join(', ')}` }: { parent?: string; accepted?: string } = {},
): OptionProblem {
  const suggestion = closestName(key, knownNames);
  return { option: parent ? `${parent}.${key}` : key, message: `unknown option${suggestion ? ` (did you mean ${suggestion}?)` : ''}; ${accepted}` };
}

/** The known name closest to `name` by edit distance, if it is close enough to be a typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
