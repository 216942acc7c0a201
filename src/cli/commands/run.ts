/**
 * `vitest-vmspawn run`: boots a machine as systemd-vmspawn does and exits with the guest's exit
 * status. A thin layer over the engine: the flags become MachineOptions, the rest is output.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionsError } from '../../errors.js';
import { listFirmware } from '../../host/firmware-descriptors.js';
import { defaultImage } from '../../image/default-image.js';
import { Machine } from '../../machine/machine.js';
import type { MachineExit, MachineSummary } from '../../machine/summary.js';
import type { MachineOptions } from '../../options/machine-options.js';
import { machinedReachable } from '../../registry/machined-register.js';
import { readRegistry } from '../../registry/read-registry.js';
import { EXIT_FAILURE, EXIT_OK, type CliCommand, type CliIo } from '../command.js';
import { chooseConsoleDecoration } from '../console-decoration.js';
import { planConsole } from '../console-modes.js';
import { copyJournal } from '../journal-copy.js';
import { packageVersion } from '../version.js';
import { flagOfOption } from '../run-flags.js';
import { parseRunArguments } from '../run-options.js';
import { runUsage } from '../run-usage.js';
import { UsageError } from '../usage-error.js';

export const command: CliCommand = {
  name: 'run',
  summary: 'Boot an image or kernel as systemd-vmspawn does; exit with the guest\'s exit status',
  get usage() {
    return runUsage();
  },
  async run(argv, io) {
    const isTerminal = (stream: unknown) => Boolean((stream as { isTTY?: boolean }).isTTY);
    const request = parseRunArguments(argv, { env: io.env, cwd: io.cwd, interactiveTerminal: isTerminal(io.stdin) && isTerminal(io.stdout) });
    switch (request.action) {
      case 'help':
        io.stdout.write(runUsage());
        return EXIT_OK;
      case 'version':
        io.stdout.write(`vitest-vmspawn ${packageVersion()}\n`);
        return EXIT_OK;
      case 'list-firmware':
        for (const firmware of await listFirmware()) io.stdout.write(`${firmware.path}\n`);
        return EXIT_OK;
      case 'boot':
        return boot(request, io);
    }
  },
};

async function boot(request: Extract<ReturnType<typeof parseRunArguments>, { action: 'boot' }>, io: CliIo): Promise<number> {
  const status = (line: string) => {
    if (!request.quiet) io.stderr.write(`${line}\n`);
  };
  const name = request.options.name ?? 'vm';
  const options: MachineOptions = { ...request.options };
  // Every option is checked before the default image is built or a directory is made.
  newMachine(request.defaultImage ? { ...options, linux: 'the default image\'s kernel' } : options);
  if (request.register === true && !machinedReachable()) {
    io.stderr.write('--register=yes: systemd-machined does not run here (systemd is not the init system, or no system bus); nothing was started. --register=no runs without it.\n');
    return EXIT_FAILURE;
  }
  if (request.defaultImage) {
    status('No --image, --directory or --linux: booting the default image (built on first use).');
    const { initramfs } = await defaultImage();
    options.linux = initramfs.linux;
    options.initrd = initramfs.initrd;
    options.kernelArgs = [...initramfs.kernelArgs, ...(options.kernelArgs ?? [])];
  }
  const ownArtifactsDir = options.artifactsDir === undefined;
  options.artifactsDir ??= await mkdtemp(join(tmpdir(), `vitest-vmspawn-${name}-`));
  const artifactsDir = options.artifactsDir;
  const decoration = request.console === 'headless' ? undefined : await chooseConsoleDecoration({ background: request.background, name }, io);
  const consolePlan = await planConsole(request.console, io, decoration);
  if (consolePlan.consoleSocket) options.consoleSocket = consolePlan.consoleSocket;
  const discard = async () => {
    await consolePlan.discard();
    if (ownArtifactsDir) await rm(artifactsDir, { recursive: true, force: true });
  };
  let machine: Machine;
  try {
    machine = newMachine(options);
  } catch (error) {
    await discard();
    throw error;
  }
  const console = consolePlan.attach(artifactsDir);
  status(`Booting ${name}; artifacts in ${artifactsDir}`);
  let exit: MachineExit;
  try {
    const vm = await machine.start({ signal: io.signal, onBootStage: (stage) => status(`  ${stage.label} after ${(stage.afterMs / 1000).toFixed(1)} s`), register: request.register });
    status(`${name} is up (${vm.accelerator}); ${console.stopHint}`);
    const machined = (await readRegistry()).find((entry) => entry.record?.uuid === vm.uuid)?.record?.machined;
    if (machined) status(`  ${machined}`);
    if (request.register === true && !machined?.startsWith('registered')) {
      // As systemd-vmspawn --register=yes: a machine that could not be registered does not run.
      io.stderr.write(`--register=yes: ${machined ?? 'not registered with systemd-machined'}; stopping ${name}. --register=no runs without it.\n`);
      await vm.stop();
      await console.stop();
      return EXIT_FAILURE;
    }
    const stopOnSignal = () => void vm.stop().catch(() => undefined);
    io.signal.addEventListener('abort', stopOnSignal, { once: true });
    if (io.signal.aborted) stopOnSignal();
    try {
      exit = await Promise.race([vm.waitForExit(), console.detached.then(async () => (await vm.stop(), vm.waitForExit()))]);
    } finally {
      io.signal.removeEventListener('abort', stopOnSignal);
    }
  } catch (error) {
    await console.stop();
    // The host checks of start() (a missing file, too little memory) are usage errors too.
    if (error instanceof InvalidOptionsError) {
      await discard();
      throw optionsUsageError(error);
    }
    if (io.signal.aborted) {
      status(`Interrupted while booting; ${name} was stopped. Artifacts: ${artifactsDir}`);
      return EXIT_FAILURE;
    }
    // A guest that ends itself during the boot (systemctl exit N before SSH answered) still has its say.
    const ended = await guestExitDuringBoot(artifactsDir);
    if (!ended) {
      io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT_FAILURE;
    }
    exit = ended;
  }
  await console.stop();
  if (request.journalPath) {
    const written = await copyJournal(artifactsDir, request.journalPath, name).catch((error: Error) => {
      io.stderr.write(`--forward-journal: could not write the journal: ${error.message}\n`);
      return undefined;
    });
    if (written) status(`Journal: ${written}`);
  }
  status(`${name} ended: ${exit.reason}. Artifacts: ${artifactsDir}`);
  return exitCode(exit);
}

/**
 * How the machine ended when the guest ended it itself, with an exit status, before the boot completed
 * (the engine calls that a boot failure: QEMU exited cleanly after the guest's EXIT_STATUS).
 */
export async function guestExitDuringBoot(artifactsDir: string): Promise<MachineExit | undefined> {
  const summary = await readFile(join(artifactsDir, 'summary.json'), 'utf8').then((text) => JSON.parse(text) as MachineSummary, () => undefined);
  const exit = summary?.exit;
  if (exit?.exitStatus === undefined || exit.qemuExitCode !== 0) return undefined;
  return { ...exit, endedBy: 'guest', reason: `the guest exited during the boot, EXIT_STATUS=${exit.exitStatus}` };
}

/** The guest's EXIT_STATUS when it sent one; else 0 for an orderly end, 1 for a crash. */
export function exitCode(exit: MachineExit): number {
  if (exit.exitStatus !== undefined) return exit.exitStatus;
  return exit.endedBy === 'guest' || exit.endedBy === 'shutdown' ? EXIT_OK : EXIT_FAILURE;
}

/** A Machine of `options`; the engine's option errors become usage errors named by flag. */
function newMachine(options: MachineOptions): Machine {
  try {
    return new Machine(options);
  } catch (error) {
    throw error instanceof InvalidOptionsError ? optionsUsageError(error) : error;
  }
}

/** `InvalidOptionsError` as a usage error, each problem named by the flag that set the option. */
function optionsUsageError(error: InvalidOptionsError): UsageError {
  const lines = error.problems.map((problem) => {
    const flag = problem.option ? flagOfOption(problem.option) : undefined;
    return `  - ${flag ?? problem.option ?? ''}${flag && problem.option?.includes('.') ? ` (${problem.option})` : ''}: ${problem.message}`;
  });
  return new UsageError(`invalid options:\n${lines.join('\n')}`);
}
