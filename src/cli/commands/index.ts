import type { CliCommand } from '../command.js';
import { command as check } from './check.js';
import { command as run } from './run.js';

/** Every subcommand of `vitest-vmspawn`, in the order the top-level `--help` lists them. */
export const commands: CliCommand[] = [run, check];
