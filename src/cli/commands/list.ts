/** `vitest-vmspawn list [--json]`: the machines this user's processes run. */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.js';
import { formatMachineTable } from '../../registry/machine-record.js';
import { readRegistry } from '../../registry/read-registry.js';
import { registryRoot, runReporting, UsageError } from '../machine-target.js';

const USAGE = 'vitest-vmspawn list [--json]';

export const command: CliCommand = {
  name: 'list',
  summary: 'List the running machines (name, id, state, since, accelerator, transport, owner pid, test, artifacts)',
  usage: `${USAGE}

Lists the machines started by this user's test runs and commands. STATE is running, starting, or
orphaned (the process that ran it is gone: vitest-vmspawn terminate --orphans ends what it left).
  --json   one JSON array: id, state, ownerPid, artifactsDir and the machine's record
Exit status: 0, or 2 on a usage error.`,
  run: (argv, io) =>
    runReporting(io, 'list', USAGE, async () => {
      const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
      if (values.help) {
        io.stdout.write(`${command.usage}\n`);
        return 0;
      }
      if (positionals.length > 0) throw new UsageError(`list takes no arguments (got "${positionals.join(' ')}")`);
      const entries = await readRegistry(registryRoot(io.env));
      if (values.json) {
        const shown = entries.map(({ id, name, state, ownerPid, artifactsDir, record }) => ({ id, name, state, ownerPid, artifactsDir, ...record }));
        io.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      } else {
        io.stdout.write(formatMachineTable(entries, new Date()));
      }
      return 0;
    }),
};
