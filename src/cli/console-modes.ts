/**
 * `--console=MODE`: how the guest's serial console reaches the user. `headless` shows nothing (it is
 * in console.log among the artifacts either way); `read-only` streams console.log to stdout;
 * `interactive` connects the terminal to the console socket.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followFile } from '../util/follow-file.js';
import type { CliIo } from './command.js';
import { ConsoleDecorator, type ConsoleDecoration } from './console-decorator.js';
import { attachInteractiveConsole } from './interactive-console.js';
import type { ConsoleMode } from './run-options.js';

export interface AttachedConsole {
  /** Resolves when the user asked to leave the console (the machine is shut down then); never for the passive modes. */
  detached: Promise<void>;
  /** What `run` prints once the machine is up: how to end it. */
  stopHint: string;
  /** Stops showing the console (after the machine ended: shows what is left first). */
  stop(): Promise<void>;
}

export interface ConsolePlan {
  /** The `consoleSocket` the machine needs, if any. */
  consoleSocket: string | undefined;
  /** Starts showing the console (call right before the machine starts). */
  attach(artifactsDir: string): AttachedConsole;
  /** Removes what the plan made, when the machine is not started after all. */
  discard(): Promise<void>;
}

const SIGNAL_HINT = 'Ctrl-C (SIGINT) or SIGTERM shuts it down.';

/**
 * What the machine needs for `mode`: for interactive, a console socket in a private (0700) directory.
 * A `decoration` (for interactive and read-only) gives the terminal a background colour and a window
 * title while it shows the console.
 */
export async function planConsole(mode: Exclude<ConsoleMode, 'native'>, io: CliIo, decoration?: ConsoleDecoration): Promise<ConsolePlan> {
  const never = new Promise<void>(() => {});
  switch (mode) {
    case 'headless':
      return { consoleSocket: undefined, attach: () => ({ detached: never, stopHint: SIGNAL_HINT, stop: async () => {} }), discard: async () => {} };
    case 'read-only':
      return {
        consoleSocket: undefined,
        attach(artifactsDir) {
          const decorator = decoration ? new ConsoleDecorator(decoration) : undefined;
          if (decorator) io.stdout.write(decorator.begin());
          let ended = false;
          const show = (text: string) => io.stdout.write(decorator ? decorator.write(Buffer.from(text)) : text);
          const follower = followFile(join(artifactsDir, 'console.log'), (lines) => show(`${lines.join('\n')}\n`), 100);
          return {
            detached: never,
            stopHint: SIGNAL_HINT,
            async stop() {
              await follower.stop();
              if (decorator && !ended) io.stdout.write(decorator.end());
              ended = true;
            },
          };
        },
        discard: async () => {},
      };
    case 'interactive': {
      const directory = await mkdtemp(join(tmpdir(), 'vitest-vmspawn-console-'));
      const consoleSocket = join(directory, 'console.sock');
      return {
        consoleSocket,
        attach() {
          const console = attachInteractiveConsole(consoleSocket, io, decoration);
          return {
            detached: console.detached,
            stopHint: 'press Ctrl-] three times within a second to shut it down (SIGTERM does too).',
            async stop() {
              await console.stop();
              await rm(directory, { recursive: true, force: true });
            },
          };
        },
        discard: () => rm(directory, { recursive: true, force: true }),
      };
    }
  }
}
