/** A wrong command line: the CLI prints it with a hint to `--help` and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
