/**
 * `vitest-vmspawn [--help | --version | COMMAND [ARGS…]]`: picks the subcommand and turns usage
 * errors into exit code 2.
 */
import { closestName } from '../options/suggest.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from './command.js';
import { commands } from './commands/index.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { UsageError } from './usage-error.js';
import { packageVersion } from './version.js';

export function topLevelHelp(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'Usage: vitest-vmspawn COMMAND [OPTIONS…]',
    '',
    'Boot real OS images in QEMU, as systemd-vmspawn does, from the command line.',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Options:',
    '  -h --help     Show this help ("vitest-vmspawn COMMAND --help" for a command\'s)',
    '     --version  Show the version',
    '',
    EXIT_CODES_HELP,
    '',
  ].join('\n');
}

/** Runs the command line `argv` (without node and the script) and resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(topLevelHelp());
    return EXIT_USAGE;
  }
  if (first === '-h' || first === '--help') {
    io.stdout.write(topLevelHelp());
    return EXIT_OK;
  }
  if (first === '--version') {
    io.stdout.write(`vitest-vmspawn ${packageVersion()}\n`);
    return EXIT_OK;
  }
  const command = commands.find((candidate) => candidate.name === first);
  try {
    if (!command) throw unknownCommand(first);
    return await command.run([...rest], io);
  } catch (error) {
    if (error instanceof UsageError) {
      const prefix = command ? `vitest-vmspawn ${command.name}` : 'vitest-vmspawn';
      io.stderr.write(`${prefix}: ${error.message}\nSee "${prefix} --help".\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`vitest-vmspawn${command ? ` ${command.name}` : ''}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }
}

function unknownCommand(word: string): UsageError {
  if (word.startsWith('-')) {
    const suggestion = closestName(word, ['--help', '--version']);
    return new UsageError(`unknown flag ${word}${suggestion ? ` (did you mean ${suggestion}?)` : ''}; a command comes first.`);
  }
  const names = commands.map((command) => command.name);
  const suggestion = closestName(word, names);
  return new UsageError(`unknown command "${word}"${suggestion ? ` (did you mean ${suggestion}?)` : ''}; commands: ${names.join(', ')}.`);
}
