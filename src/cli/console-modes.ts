/**
 * `--console=MODE`: how the guest's serial console reaches the user. `headless` shows nothing (it is
 * in console.log among the artifacts either way); `read-only` streams console.log to stdout.
 */
import { join } from 'node:path';
import type { Machine } from '../machine/machine.js';
import { followFile } from '../util/follow-file.js';
import type { CliIo } from './command.js';
import type { ConsoleMode } from './run-options.js';
import { UsageError } from './usage-error.js';

export interface AttachedConsole {
  /** Resolves when the user asked to leave the console (the machine is shut down then); never for the passive modes. */
  detached: Promise<void>;
  /** What `run` prints once the machine is up: how to end it. */
  stopHint: string;
  /** Stops showing the console (after the machine ended: shows what is left first). */
  stop(): Promise<void>;
}

export async function startConsole(mode: ConsoleMode, _machine: Machine, artifactsDir: string, io: CliIo): Promise<AttachedConsole> {
  const never = new Promise<void>(() => {});
  switch (mode) {
    case 'headless':
      return { detached: never, stopHint: 'Ctrl-C (SIGINT) or SIGTERM shuts it down.', stop: async () => {} };
    case 'read-only': {
      const follower = followFile(join(artifactsDir, 'console.log'), (lines) => io.stdout.write(`${lines.join('\n')}\n`), 100);
      return { detached: never, stopHint: 'Ctrl-C (SIGINT) or SIGTERM shuts it down.', stop: () => follower.stop() };
    }
    case 'interactive':
    case 'native':
      throw new UsageError(`--console=${mode} is not available yet: the engine writes the serial console to a file only; use --console=read-only or headless.`);
  }
}
