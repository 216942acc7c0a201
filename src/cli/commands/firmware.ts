/** `vitest-vmspawn firmware [--json]`: the firmware descriptors found on this host (what `firmware` options choose from). */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.js';
import { firmwareDescriptorDirs, listFirmware } from '../../host/firmware-descriptors.js';
import { runReporting, UsageError } from '../machine-target.js';

const USAGE = 'vitest-vmspawn firmware [--json]';

export const command: CliCommand = {
  name: 'firmware',
  summary: 'List the firmware descriptors found on this host',
  usage: `${USAGE}

Lists the QEMU firmware descriptors (firmware/*.json) in the directories searched, most specific
first, with their features: what the firmware option and secureBoot choose from.
  --json   the descriptors as a JSON array
Exit status: 0, or 2 on a usage error.`,
  run: (argv, io) =>
    runReporting(io, 'firmware', USAGE, async () => {
      const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
      if (values.help) {
        io.stdout.write(`${command.usage}\n`);
        return 0;
      }
      if (positionals.length > 0) throw new UsageError(`firmware takes no arguments (got "${positionals.join(' ')}")`);
      const dirs = firmwareDescriptorDirs(io.env);
      const found = await listFirmware(dirs);
      if (values.json) {
        io.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
        return 0;
      }
      if (found.length === 0) {
        io.stdout.write(`No firmware descriptors in ${dirs.join(', ')}: install edk2/OVMF (e.g. ovmf on Debian) for UEFI boots.\n`);
        return 0;
      }
      for (const descriptor of found) {
        io.stdout.write(`${descriptor.path}\n  ${descriptor.description || '(no description)'}\n  features: ${descriptor.features.join(', ') || 'none'}\n  code: ${descriptor.code.path}\n`);
      }
      return 0;
    }),
};
