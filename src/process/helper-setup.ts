/**
 * The one-shot command a helper daemon may need before it starts (e.g. swtpm_setup manufacturing
 * the TPM state). It is a managed process like the daemons, so it dies with the test process too.
 */
import { VmspawnError } from '../errors.js';
import type { PlannedHelper } from '../plan/helper-plan.js';
import { readTail } from '../util/read-tail.js';
import { spawnManaged } from './managed-process.js';

/** How long a setup command may take; swtpm_setup needs about half a second. */
const SETUP_TIMEOUT_MS = 30_000;

export async function runHelperSetup(helper: PlannedHelper, pidFile: string): Promise<void> {
  if (!helper.setup) return;
  const { binary, args } = helper.setup;
  const name = `${helper.name}-setup`;
  const setup = await spawnManaged(name, binary, args, { logFile: helper.logFile, pidFile });
  const timer = setTimeout(() => setup.kill(), SETUP_TIMEOUT_MS);
  const exit = await setup.exited.finally(() => clearTimeout(timer));
  if (exit.exitCode === 0) return;
  const how = exit.signal ? `was killed by ${exit.signal}${exit.signal === 'SIGKILL' ? ` (after ${SETUP_TIMEOUT_MS / 1000} s?)` : ''}` : `exited with code ${exit.exitCode}`;
  const output = await readTail(helper.logFile, 10);
  throw new VmspawnError(`${name} (${binary} ${args.join(' ')}) ${how}.${output ? `\n${output}` : ''}`);
}
