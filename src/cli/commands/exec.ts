/** `vitest-vmspawn exec NAME -- CMD…`: runs a command in a running machine as root; its exit status is the exit code. */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.js';
import { findMachine, runReporting, UsageError } from '../machine-target.js';
import { planSshArgs, runSsh, sshTarget } from '../ssh-client.js';

const USAGE = 'vitest-vmspawn exec [-t] NAME -- COMMAND [ARG…]';

export const command: CliCommand = {
  name: 'exec',
  summary: "Run a command in a running machine as root; the command's exit status is the exit code",
  usage: `${USAGE}

Runs COMMAND over SSH (as shell and with the same key); its output is passed through. One argument
after -- is a shell command line ('systemctl is-active ssh && echo up'); several are quoted one by one.
  -t, --tty   allocate a terminal (for full-screen programs)
Exit status: the command's, 255 when SSH failed, 1 when there is no such machine, 2 on a usage error.`,
  run: (argv, io) =>
    runReporting(io, 'exec', USAGE, async () => {
      const separator = argv.indexOf('--');
      const own = separator < 0 ? argv : argv.slice(0, separator);
      const remote = separator < 0 ? [] : argv.slice(separator + 1);
      const { values, positionals } = parseArgs({ args: own, options: { tty: { type: 'boolean', short: 't' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
      if (values.help) {
        io.stdout.write(`${command.usage}\n`);
        return 0;
      }
      if (positionals.length !== 1) throw new UsageError(`exec takes one NAME before -- (got ${positionals.length})`);
      if (remote.length === 0) throw new UsageError(`exec needs a command after -- (e.g. exec ${positionals[0]} -- uname -a)`);
      const { entry } = await findMachine(positionals[0]!, io);
      const { configFile, host } = sshTarget(entry);
      return runSsh(planSshArgs(configFile, host, remote, values.tty ?? false), io);
    }),
};
