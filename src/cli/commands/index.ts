import type { CliCommand } from '../command.js';
import { command as check } from './check.js';
import { command as list } from './list.js';
import { command as shell } from './shell.js';
import { command as execCommand } from './exec.js';
import { command as journal } from './journal.js';
import { command as terminate } from './terminate.js';
import { command as firmware } from './firmware.js';
import { command as image } from './image.js';
import { command as run } from './run.js';

/** Every subcommand of `vitest-vmspawn`, in the order the top-level `--help` lists them. */
export const commands: CliCommand[] = [run, check, list, shell, execCommand, journal, terminate, firmware, image];
