/**
 * `waitForConsole()`: waits for a line of the serial console (console.log) that matches. The log is
 * read again whenever the file changes (inotify, through fs.watch) and, should a change go unseen,
 * on the backoff schedule.
 */
import { watch } from 'node:fs';
import { InvalidOptionsError } from '../../errors.js';
import { ConsoleLines, matchesLine } from './console-lines.js';
import type { WaitContext } from './wait-context.js';
import { waitUntil } from './wait-loop.js';
import { resolveWaitOptions, type GuestWaitOptions } from './wait-options.js';

export interface ConsoleWaitOptions extends GuestWaitOptions {
  /**
   * `'boot'`: lines the console already printed count too; `'now'`: only what it prints after the call.
   * @default 'boot'
   */
  since?: 'boot' | 'now';
}

/** Longest last line quoted in a timeout's message. */
const QUOTED_LINE_CHARS = 200;

/** Resolves with the first console line that contains `pattern` (a string) or matches it (a RegExp). */
export async function waitForConsole(context: WaitContext, pattern: string | RegExp, options: ConsoleWaitOptions = {}): Promise<string> {
  if (!(pattern instanceof RegExp) && (typeof pattern !== 'string' || pattern === '')) {
    throw new InvalidOptionsError([{ option: 'pattern', message: `expected a non-empty string or a RegExp, got ${JSON.stringify(pattern)}` }], 'waitForConsole() arguments');
  }
  if (options.since !== undefined && options.since !== 'boot' && options.since !== 'now') {
    throw new InvalidOptionsError([{ option: 'since', message: `expected 'boot' or 'now', got ${JSON.stringify(options.since)}` }], 'waitForConsole() options');
  }
  const resolved = resolveWaitOptions('waitForConsole()', options);
  const console = new ConsoleLines(context.consoleLog, options.since === 'now');
  let lastLine: string | undefined;
  return waitUntil(
    async () => {
      const lines = await console.readNew();
      const found = lines.find((line) => matchesLine(line, pattern));
      if (found !== undefined) return { done: true, value: found };
      // A prompt is printed without a line end: the line being written counts as well.
      if (console.partial && matchesLine(console.partial, pattern)) return { done: true, value: console.partial };
      lastLine = console.partial || lines.findLast((line) => line.trim() !== '') || lastLine;
      return { done: false, observed: lastLine === undefined ? 'the console printed nothing' : `last console line: ${quote(lastLine)}` };
    },
    {
      waitingFor: `a console line matching ${pattern instanceof RegExp ? String(pattern) : JSON.stringify(pattern)}${options.since === 'now' ? ' (printed after the call)' : ''}`,
      options: resolved,
      ended: context.ended,
      nudges: (nudge) => {
        try {
          const watcher = watch(context.consoleLog, { persistent: false }, nudge);
          watcher.on('error', () => watcher.close());
          return () => watcher.close();
        } catch {
          return () => undefined; // no inotify: the backoff schedule alone
        }
      },
    },
  );
}

function quote(line: string): string {
  const trimmed = line.trim();
  return JSON.stringify(trimmed.length > QUOTED_LINE_CHARS ? `${trimmed.slice(0, QUOTED_LINE_CHARS)}…` : trimmed);
}
