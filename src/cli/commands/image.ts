/** `vitest-vmspawn image build [default|uefi|all]`: builds the project's images into the cache, unless the current recipe's build is there. */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.js';
import { defaultImage } from '../../image/default-image.js';
import { uefiImage } from '../../image/uefi-image.js';
import { runReporting, UsageError } from '../machine-target.js';

const USAGE = 'vitest-vmspawn image build [default|uefi|all] [--cache-dir DIR]';
const IMAGES = ['default', 'uefi', 'all'] as const;

export const command: CliCommand = {
  name: 'image',
  summary: "Build the project's images (the default test image, the UEFI image) into the cache",
  usage: `${USAGE}

Builds an image from its recipe (fixtures/) unless the cache already holds a build of the current
recipe, then prints its directory: run it before a test run (in CI, a cached step) so that no test
waits for a build. default (the default) is the image tests get without options; uefi is the GPT
disk with systemd-boot; all is both.
  --cache-dir DIR   the cache (default $VMSPAWN_CACHE_DIR, else $XDG_CACHE_HOME/vitest-vmspawn, else ~/.cache/vitest-vmspawn)
Exit status: 0, 1 when a build failed, 2 on a usage error.`,
  run: (argv, io) =>
    runReporting(io, 'image', USAGE, async () => {
      const { values, positionals } = parseArgs({ args: argv, options: { 'cache-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
      if (values.help) {
        io.stdout.write(`${command.usage}\n`);
        return 0;
      }
      const [action, which = 'default', ...rest] = positionals;
      if (action !== 'build') throw new UsageError(`image needs the action build (got ${action === undefined ? 'none' : `"${action}"`})`);
      if (!(IMAGES as readonly string[]).includes(which) || rest.length > 0) {
        throw new UsageError(`image build takes one of ${IMAGES.join(', ')} (got "${[which, ...rest].join(' ')}")`);
      }
      const options = { onProgress: (line: string) => io.stderr.write(`image: ${line}\n`), ...(values['cache-dir'] && { cacheDir: values['cache-dir'] }) };
      if (which !== 'uefi') io.stdout.write(`default image: ${(await defaultImage(options)).directory}\n`);
      if (which !== 'default') io.stdout.write(`UEFI image: ${(await uefiImage(options)).directory}\n`);
      return 0;
    }),
};
