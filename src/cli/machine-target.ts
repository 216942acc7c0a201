/** What the machine subcommands share: parsing their flags, finding the machine a NAME names, and usage errors. */
import { EXIT_FAILURE, EXIT_USAGE, type CliIo } from './command.js';
import { findEntry, type RegistryEntry } from '../registry/machine-record.js';
import { readRegistry } from '../registry/read-registry.js';
import { runtimeRoot } from '../host/runtime-dir.js';
import { asUsageError, UsageError } from './usage-error.js';

export { UsageError };

/** The registry's root: where the machines of this user are recorded. */
export function registryRoot(env: NodeJS.ProcessEnv): string {
  return runtimeRoot(env);
}

/** The machine NAME names (a name or an id from `list`). */
export async function findMachine(nameOrId: string, io: CliIo): Promise<{ entry: RegistryEntry; root: string }> {
  const root = registryRoot(io.env);
  return { entry: findEntry(await readRegistry(root), nameOrId), root };
}

/**
 * Runs a command body; usage errors (a UsageError, or util.parseArgs's ERR_PARSE_ARGS_*) exit 2 with
 * the usage line, other errors 1, both with a message on stderr.
 */
export async function runReporting(io: CliIo, command: string, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (thrown) {
    const error = asUsageError(thrown);
    if (error instanceof UsageError) {
      io.stderr.write(`vitest-vmspawn ${command}: ${error.message}\nusage: ${usage}\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`vitest-vmspawn ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }
}
