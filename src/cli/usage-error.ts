/** A wrong command line: the CLI prints it with a hint to `--help` and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * util.parseArgs's errors (ERR_PARSE_ARGS_*) as a UsageError: node's message names the flag
 * ("Unknown option '--rma'"); its advice on positionals starting with '-' is cut, since what follows
 * `--` is kernel arguments or a guest command here. Anything else is returned as it is.
 */
export function asUsageError(error: unknown): unknown {
  if (!String((error as { code?: unknown })?.code ?? '').startsWith('ERR_PARSE_ARGS')) return error;
  const message = (error as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '').replace(/\.?$/, '.');
  return new UsageError(message);
}
