/** `vitest-vmspawn shell NAME`: an interactive root shell in a running machine, over SSH. */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.js';
import { findMachine, runReporting, UsageError } from '../machine-target.js';
import { planSshArgs, runSsh, sshTarget } from '../ssh-client.js';

const USAGE = 'vitest-vmspawn shell NAME';

export const command: CliCommand = {
  name: 'shell',
  summary: 'Open a root shell in a running machine (SSH over its own transport, its ephemeral key)',
  usage: `${USAGE}

Logs in as root with the machine's ephemeral key and pinned host key (no password, no host key
prompt), over the machine's own transport (vsock, or TCP without vsock). NAME is a machine name or
an id from vitest-vmspawn list. A terminal is used when stdin is one.
Exit status: the shell's, 255 when SSH failed, 1 when there is no such machine, 2 on a usage error.`,
  run: (argv, io) =>
    runReporting(io, 'shell', USAGE, async () => {
      const { values, positionals } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
      if (values.help) {
        io.stdout.write(`${command.usage}\n`);
        return 0;
      }
      if (positionals.length !== 1) throw new UsageError(`shell takes one NAME (got ${positionals.length} arguments)`);
      const { entry } = await findMachine(positionals[0]!, io);
      const { configFile, host } = sshTarget(entry);
      return runSsh(planSshArgs(configFile, host, []), io);
    }),
};
