/** Quoting of argument vectors for the remote shell that runs SSH exec requests. */

const SAFE = /^[A-Za-z0-9_\/.,:=@%+-]+$/;

/** Quotes one argument for a POSIX shell. */
export function quoteArgument(argument: string): string {
  if (argument !== '' && SAFE.test(argument)) return argument;
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** Turns `['echo', 'a b']` into `echo 'a b'`; a string is taken as a shell command as it is. */
export function toShellCommand(command: string | readonly string[]): string {
  return typeof command === 'string' ? command : command.map(quoteArgument).join(' ');
}
