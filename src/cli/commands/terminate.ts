/** `vitest-vmspawn terminate NAME` / `terminate --orphans`: ends a machine, or what dead runs left behind. */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.js';
import { reapAbandonedMachines } from '../../machine/abandoned-machines.js';
import { readRegistry } from '../../registry/read-registry.js';
import { terminateMachine } from '../../registry/terminate.js';
import { findMachine, registryRoot, runReporting, UsageError } from '../machine-target.js';

const USAGE = 'vitest-vmspawn terminate NAME [--timeout SECONDS] | terminate --orphans';

export const command: CliCommand = {
  name: 'terminate',
  summary: 'End a running machine (its owning process shuts it down), or with --orphans what dead runs left',
  usage: `${USAGE}

A machine belongs to the process that started it (a vitest worker, or run). terminate asks that
process to shut the machine down: its test sees the machine end, and the artifacts are finished as on
any shutdown. If it does not within --timeout seconds (default 60), QEMU is ended with SIGTERM, then
everything the machine started with SIGKILL. A machine whose process is gone is reaped at once.
  --orphans   kill what runs of dead processes left and finish their artifacts (as the next test run would)
Exit status: 0 when the machine is gone, 1 otherwise or when there is no such machine, 2 on a usage error.`,
  run: (argv, io) =>
    runReporting(io, 'terminate', USAGE, async () => {
      const { values, positionals } = parseArgs({
        args: argv,
        options: { orphans: { type: 'boolean' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      });
      if (values.help) {
        io.stdout.write(`${command.usage}\n`);
        return 0;
      }
      if (values.orphans) {
        if (positionals.length > 0) throw new UsageError('--orphans takes no NAME (it ends every orphaned machine)');
        const root = registryRoot(io.env);
        const before = await readRegistry(root);
        const reaped = new Set(await reapAbandonedMachines(root));
        const ended = before.filter((entry) => reaped.has(entry.runtimeDir));
        for (const entry of ended) io.stdout.write(`reaped ${entry.name ?? entry.id} (${entry.id}, owner pid ${entry.ownerPid ?? '?'} gone)\n`);
        if (ended.length === 0) io.stdout.write('No orphaned machines.\n');
        return 0;
      }
      if (positionals.length !== 1) throw new UsageError(`terminate takes one NAME, or --orphans (got ${positionals.length} arguments)`);
      const seconds = values.timeout === undefined ? undefined : Number(values.timeout);
      if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0 && values.timeout!.trim() !== '')) {
        throw new UsageError(`--timeout "${values.timeout}" is not a number of seconds above 0 (e.g. --timeout 60)`);
      }
      const timeout = seconds === undefined ? undefined : Math.round(seconds * 1000);
      const { entry, root } = await findMachine(positionals[0]!, io);
      const name = entry.name ?? entry.id;
      const result = await terminateMachine(entry, root, { timeout, signal: io.signal, log: (line) => io.stderr.write(`${line}\n`) });
      const how = { owner: `shut down by its process (pid ${entry.ownerPid})`, signal: 'ended with signals', reaped: 'reaped (its process was gone)' }[result.how];
      io.stdout.write(`terminated ${name}: ${how}${entry.artifactsDir ? `; artifacts in ${entry.artifactsDir}` : ''}\n`);
      return 0;
    }),
};
