/**
 * A small getopt_long: what systemd's tools accept, with errors that name the flag and suggest the
 * closest known one. Written by hand rather than with node's util.parseArgs, which rejects a value
 * that starts with `-` after a flag that takes one (`--set-credential -x`), has no way to stop at
 * the first positional argument (vmspawn's kernel arguments), and words its own error messages.
 */
import { closestName } from '../options/suggest.js';
import { UsageError } from './usage-error.js';

/** One flag a command accepts. */
export interface FlagSpec {
  /** Long name without dashes: `ram` for `--ram`. */
  name: string;
  /** One-letter short form without the dash: `M` for `-M`. */
  short?: string;
  /** Whether the flag takes a value (`--ram=1G`, `--ram 1G`, `-M name`, `-Mname`). */
  takesValue: boolean;
  /** How the value is named in messages and help, e.g. `BYTES`. @default 'VALUE' */
  valueName?: string;
}

/** One flag as given on the command line, in order. */
export interface FlagOccurrence {
  /** The long name of the flag. */
  name: string;
  /** Its value, undefined for a flag without one. */
  value: string | undefined;
  /** How it was spelled (`-M`, `--machine`), for messages. */
  spelled: string;
}

export interface ParsedCommandLine {
  flags: FlagOccurrence[];
  /** Arguments after the first positional one or after `--`. */
  positionals: string[];
}

/**
 * Parses `argv` against `specs`. Options end at `--` or, as with getopt's `+`, at the first argument
 * that is not an option; everything from there on is positional. Throws a UsageError naming the flag.
 */
export function parseCommandLine(argv: readonly string[], specs: readonly FlagSpec[]): ParsedCommandLine {
  const byLong = new Map(specs.map((spec) => [spec.name, spec]));
  const byShort = new Map(specs.filter((spec) => spec.short).map((spec) => [spec.short, spec]));
  const flags: FlagOccurrence[] = [];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] ?? '';
    if (argument === '--') return { flags, positionals: argv.slice(index + 1) };
    if (argument.startsWith('--')) {
      const equals = argument.indexOf('=');
      const name = argument.slice(2, equals === -1 ? undefined : equals);
      const spec = byLong.get(name);
      const spelled = `--${name}`;
      if (!spec) throw unknownFlag(spelled, specs);
      if (equals !== -1) {
        if (!spec.takesValue) throw new UsageError(`${spelled} takes no value (got "${argument}").`);
        flags.push({ name, value: argument.slice(equals + 1), spelled });
      } else if (spec.takesValue) {
        if (index + 1 >= argv.length) throw missingValue(spelled, spec);
        flags.push({ name, value: argv[++index], spelled });
      } else {
        flags.push({ name, value: undefined, spelled });
      }
      continue;
    }
    if (argument.startsWith('-') && argument.length > 1) {
      // A cluster of short flags (-qx); one that takes a value takes the rest of the cluster or the next argument.
      for (let position = 1; position < argument.length; position++) {
        const letter = argument[position] ?? '';
        const spec = byShort.get(letter);
        const spelled = `-${letter}`;
        if (!spec) throw unknownFlag(spelled, specs);
        if (!spec.takesValue) {
          flags.push({ name: spec.name, value: undefined, spelled });
          continue;
        }
        const rest = argument.slice(position + 1);
        if (rest) flags.push({ name: spec.name, value: rest, spelled });
        else if (index + 1 < argv.length) flags.push({ name: spec.name, value: argv[++index], spelled });
        else throw missingValue(spelled, spec);
        break;
      }
      continue;
    }
    return { flags, positionals: argv.slice(index) };
  }
  return { flags, positionals: [] };
}

function unknownFlag(spelled: string, specs: readonly FlagSpec[]): UsageError {
  const known = specs.flatMap((spec) => [`--${spec.name}`, ...(spec.short ? [`-${spec.short}`] : [])]);
  const suggestion = spelled.startsWith('--') ? closestName(spelled, known.filter((name) => name.startsWith('--'))) : undefined;
  return new UsageError(`unknown flag ${spelled}${suggestion ? ` (did you mean ${suggestion}?)` : ''}.`);
}

function missingValue(spelled: string, spec: FlagSpec): UsageError {
  return new UsageError(`${spelled} needs a value: ${spelled}=${spec.valueName ?? 'VALUE'}.`);
}
