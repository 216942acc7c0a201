/** `vitest-vmspawn journal NAME [filters] [-f]`: a machine's journal, as forwarded to the host, like journalctl. */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliCommand, CliIo } from '../command.js';
import { isSameProcessAlive } from '../../host/runtime-dir.js';
import type { RegistryEntry } from '../../registry/machine-record.js';
import { readRegistry } from '../../registry/read-registry.js';
import type { JournalEntry } from '../../journal/journal-entry.js';
import { ARTIFACT_FILES } from '../../plan/machine-layout.js';
import { JournalFileReader } from '../journal-file.js';
import { formatEntry, JournalFlagError, planJournalView, selectEntries } from '../journal-view.js';
import { findMachine, registryRoot, runReporting, UsageError } from '../machine-target.js';

const USAGE = 'vitest-vmspawn journal NAME|ARTIFACTS_DIR [-u UNIT] [-t ID] [-p PRIO] [-g REGEX] [-n N] [-o MODE] [-f]';

/** Entries shown before following when -n is not given (as journalctl -f). */
const FOLLOW_DEFAULT_LINES = 10;

export const command: CliCommand = {
  name: 'journal',
  summary: "Show or follow a machine's journal, with journalctl's filters",
  usage: `${USAGE}

Reads the journal the guest forwards to the host (journal.export in the machine's artifacts
directory), so it works while the machine boots and after it ended (give its artifacts directory).
  -u, --unit UNIT         entries of UNIT or about it (.service is added when there is no suffix)
  -t, --identifier ID     entries with SYSLOG_IDENTIFIER=ID
  -p, --priority PRIO     PRIO or more important: 0–7 or emerg, alert, crit, err, warning, notice, info, debug
  -g, --grep REGEX        messages that match REGEX
  -n, --lines N           only the last N entries (10 with -f)
  -o, --output MODE       short (default), short-precise, cat, json, verbose
  -f, --follow            keep printing new entries until the machine ends (or Ctrl-C)
Exit status: 0, 1 when there is no such machine or journal, 2 on a usage error.`,
  run: (argv, io) =>
    runReporting(io, 'journal', USAGE, async () => {
      const { values, positionals } = parseArgs({
        args: argv,
        options: {
          unit: { type: 'string', short: 'u' },
          identifier: { type: 'string', short: 't' },
          priority: { type: 'string', short: 'p' },
          grep: { type: 'string', short: 'g' },
          lines: { type: 'string', short: 'n' },
          output: { type: 'string', short: 'o' },
          follow: { type: 'boolean', short: 'f' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
        strict: true,
      });
      if (values.help) {
        io.stdout.write(`${command.usage}\n`);
        return 0;
      }
      if (positionals.length !== 1) throw new UsageError(`journal takes one NAME or artifacts directory (got ${positionals.length})`);
      let view;
      try {
        view = planJournalView(values);
      } catch (error) {
        if (error instanceof JournalFlagError) throw new UsageError(error.message);
        throw error;
      }
      const target = positionals[0]!;
      const { artifactsDir, machine } = await locate(target, io);
      const exportFile = join(artifactsDir, ARTIFACT_FILES.journalExport);
      if (!values.follow && !existsSync(exportFile)) throw new Error(`${exportFile} does not exist (no journal was forwarded, or forwardJournal is off)`);
      const reader = new JournalFileReader(exportFile);
      const write = (entries: readonly JournalEntry[]) => {
        for (const entry of entries) io.stdout.write(`${formatEntry(entry, view.output)}\n`);
      };
      const firstLines = view.lines ?? (values.follow ? FOLLOW_DEFAULT_LINES : undefined);
      write(selectEntries(await reader.readNew(), { ...view, lines: firstLines }));
      if (values.follow && machine) {
        // The machine's end, or its process's (an orphan's runtime directory stays until it is reaped).
        const ended = () => !existsSync(machine.runtimeDir) || (machine.ownerPid !== undefined && !isSameProcessAlive(machine.ownerPid, undefined));
        await reader.follow((entries) => write(selectEntries(entries, { ...view, lines: undefined })), ended, io.signal);
      }
      return 0;
    }),
};

/**
 * The artifacts directory, and the machine that writes it while it runs (absent for a directory of
 * a machine that ended): its end ends -f.
 */
async function locate(target: string, io: CliIo): Promise<{ artifactsDir: string; machine: RegistryEntry | undefined }> {
  const artifactsDir = resolve(io.cwd, target);
  if (target.includes('/') && existsSync(artifactsDir)) {
    if (!statSync(artifactsDir).isDirectory()) throw new Error(`${target} is not a directory; give a machine name or its artifacts directory.`);
    const running = (await readRegistry(registryRoot(io.env))).find((entry) => entry.artifactsDir !== undefined && resolve(entry.artifactsDir) === artifactsDir);
    return { artifactsDir, machine: running?.state === 'orphaned' ? undefined : running };
  }
  const { entry } = await findMachine(target, io);
  if (!entry.artifactsDir) throw new Error(`"${target}" has no artifacts directory recorded yet; try again in a moment.`);
  return { artifactsDir: entry.artifactsDir, machine: entry.state === 'orphaned' ? undefined : entry };
}
