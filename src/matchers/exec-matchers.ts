/**
 * `toSucceed` and `toExitWith`: assertions over a result of `vm.exec(cmd, { reject: false })` whose
 * failure messages show the command, how it ended and the end of its output.
 */
import type { ExecResult } from '../ssh/exec-types.js';
import type { MatcherResult } from './journal-matchers.js';
import { tailLines } from './format-entries.js';

/** Lines of stderr (or stdout, when stderr is empty) shown on failure. */
export const OUTPUT_LINES_SHOWN = 15;

export function toSucceed(received: unknown): MatcherResult {
  const result = execResult('toSucceed', received);
  const pass = result.exitCode === 0 && result.signal === undefined;
  return {
    pass,
    message: () => (pass ? `expected the command to fail, but it exited with status 0.\n${details(result)}` : `expected the command to succeed, but it ${ending(result)}.\n${details(result)}`),
  };
}

export function toExitWith(received: unknown, status: number): MatcherResult {
  const result = execResult('toExitWith', received);
  if (!Number.isInteger(status) || status < 0 || status > 255) {
    throw new TypeError(`toExitWith(status): status must be an integer exit status 0–255; got ${JSON.stringify(status)}.`);
  }
  const pass = result.exitCode === status;
  return {
    pass,
    message: () => `expected the command ${pass ? 'not ' : ''}to exit with status ${status}, but it ${ending(result)}.\n${details(result)}`,
  };
}

/** "exited with status 3", "was killed by signal KILL". */
export function ending(result: ExecResult): string {
  return result.exitCode === null ? `was killed by signal ${result.signal ?? '(unknown)'}` : `exited with status ${result.exitCode}`;
}

/** The command and the end of its output, indented. */
export function details(result: ExecResult): string {
  const lines = [`  command: ${result.command}`];
  for (const [name, text] of [['stderr', result.stderr], ['stdout', result.stdout]] as const) {
    if (text.trim() === '') {
      lines.push(`  ${name}: (empty)`);
      continue;
    }
    const count = text.replace(/\n$/, '').split('\n').length;
    lines.push(`  ${name}${count > OUTPUT_LINES_SHOWN ? ` (last ${OUTPUT_LINES_SHOWN} of ${count} lines)` : ''}:`, tailLines(text, OUTPUT_LINES_SHOWN));
  }
  return lines.join('\n');
}

function execResult(matcher: string, received: unknown): ExecResult {
  const candidate = received as Partial<ExecResult> | null;
  if (typeof candidate === 'object' && candidate !== null && typeof candidate.command === 'string' && 'exitCode' in candidate && typeof candidate.stderr === 'string') {
    return candidate as ExecResult;
  }
  const hint = candidate instanceof Promise ? ' (a promise: await vm.exec(…) first)' : '';
  throw new TypeError(`${matcher}() needs the result of vm.exec(command, { reject: false }); it got ${candidate === null ? 'null' : typeof candidate}${hint}.`);
}
