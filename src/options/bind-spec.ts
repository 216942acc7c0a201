/**
 * `bind` and `bindReadOnly` entries, parsed as systemd-vmspawn parses `--bind=`/`--bind-ro=`:
 * `SRC[:DST]`, split at the first colon that is not escaped. A backslash escapes the next character
 * in either path (`\:` is a colon, `\\` a backslash). A relative SRC is resolved against the current
 * directory; DST defaults to SRC as written and must be absolute, so a relative SRC needs an explicit
 * DST (vmspawn refuses it too). Pure: whether SRC is a directory is checked before the machine starts.
 */
import { isAbsolute, posix, resolve } from 'node:path';

/** One host directory shared into the guest over virtiofs. */
export interface BindMount {
  /** Absolute host path. */
  source: string;
  /** Absolute, normalised guest path. */
  target: string;
  readOnly: boolean;
  /** The option it came from, for messages: `bind[0]`, `bindReadOnly[1]`. */
  option: string;
}

export type BindParse = { bind: BindMount } | { problem: string };

export function parseBindSpec(spec: string, readOnly: boolean, option: string, cwd: string): BindParse {
  const [sourceText, targetText] = splitAtColon(spec);
  if (sourceText === '') return { problem: `expected SRC[:DST] with a source directory, got ${JSON.stringify(spec)}` };
  const written = targetText ?? sourceText;
  if (!isAbsolute(written)) {
    return {
      problem:
        targetText === undefined
          ? `the guest path defaults to the source as written, ${JSON.stringify(sourceText)}, which is relative: give an absolute guest path as SRC:DST`
          : `expected an absolute guest path after the colon, got ${JSON.stringify(targetText)}`,
    };
  }
  const target = posix.normalize(written).replace(/(.)\/$/, '$1');
  if (target === '/') return { problem: 'cannot mount over the guest\'s root directory: use directory to boot from a host tree' };
  return { bind: { source: resolve(cwd, sourceText), target, readOnly, option } };
}

/** SRC and DST (undefined without an unescaped colon), with backslash escapes removed. */
function splitAtColon(spec: string): [string, string | undefined] {
  let source = '';
  let target: string | undefined;
  for (let index = 0; index < spec.length; index++) {
    let char = spec[index]!;
    if (char === ':' && target === undefined) {
      target = '';
      continue;
    }
    if (char === '\\' && index + 1 < spec.length) char = spec[++index]!;
    if (target === undefined) source += char;
    else target += char;
  }
  return [source, target];
}
