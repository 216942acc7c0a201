/**
 * `vitest-vmspawn check`: CI image validation with no test code. Boots an image (the default image
 * without arguments), reports whether it is healthy and exits 0 (healthy), 1 (degraded) or 2 (usage).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { exitCodeOf } from '../../check/build-report.js';
import type { CheckReport } from '../../check/check-report.js';
import { formatCheckSummary } from '../../check/human-summary.js';
import { toJUnitXml } from '../../check/junit-report.js';
import { runCheck } from '../../check/run-check.js';
import { InvalidOptionsError } from '../../errors.js';
import { defaultImage } from '../../image/default-image.js';
import { Machine } from '../../machine/machine.js';
import type { MachineOptions } from '../../options/machine-options.js';
import { flagOfOption, parseCheckFlags, type CheckInvocation } from '../check/check-flags.js';
import { UsageError } from '../usage-error.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliIo } from '../command.js';

/** Files `check` writes into the artifacts directory, beside the machine's own. */
export const CHECK_REPORT_FILE = 'check-report.json';
export const CHECK_SUMMARY_FILE = 'summary.txt';

const USAGE = `Usage: vitest-vmspawn check [IMAGE | --directory DIR | --linux KERNEL [--initrd FILE]…] [OPTIONS] [-- KERNEL ARGS]

Boots an image, waits until it is ready, and reports whether it is healthy: the system state
(systemctl is-system-running), failed units with their last journal lines, error-priority journal
lines, boot time per stage and a clean power-off. Without an image, boots the project's default image.

  IMAGE, -i, --image FILE    Disk image (raw or qcow2) to boot (through UEFI unless --linux is given)
  -D, --directory DIR        OS tree to boot over virtiofs
  --linux KERNEL             Kernel to boot (alone, or with IMAGE or --directory as the root)
  --initrd FILE              Initrd for --linux (repeatable)
  --json                     Print the report as JSON (schemas/check-report.schema.json) instead of a summary
  --junit FILE               Also write a JUnit XML file, one testcase per check
  --timeout SECONDS          Boot timeout (default 120)
  --allow PATTERN            Error lines that do not count (repeatable): unit:NAME[:REGEX],
                             identifier:NAME[:REGEX], message:REGEX or a bare REGEX
  --artifacts DIR            Where console.log, the journal, summary.json, check-report.json and
                             summary.txt go (default ./vmspawn-check-NAME-TIME); also --artifacts-dir
  -M, --machine NAME         Machine name (the guest's hostname)
  --cpus N, --ram SIZE       Virtual CPUs (default 1) and memory (default 1G)
  --kvm BOOL|auto            Use KVM (default auto)
  --vsock BOOL|auto|kernel|user-space
                             vsock transport (default auto; yes: kernel vsock, as vmspawn;
                             no: SSH over a private network)
  --firmware PATH            UEFI firmware descriptor (an absolute path or ./…)
  --secure-boot BOOL|auto    UEFI firmware with Secure Boot (default auto)
  --tpm BOOL|auto            Attach a software TPM (default auto)
  --set-credential ID:VALUE  Credential for the guest, C escapes in VALUE (repeatable)
  -h, --help                 Show this help

Exit status: 0 healthy, 1 degraded (or the boot failed), 2 bad usage.`;

export const command: CliCommand = {
  name: 'check',
  summary: 'Boot an image and report whether it is healthy (CI image validation)',
  usage: USAGE,
  async run(argv: string[], io: CliIo): Promise<number> {
    let invocation: CheckInvocation;
    try {
      invocation = parseCheckFlags(argv, io.cwd);
    } catch (error) {
      if (error instanceof UsageError) return usageFailure(io, error.message);
      throw error;
    }
    if (invocation.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    const label = labelOf(invocation, io.cwd);
    const artifactsDir = resolve(io.cwd, invocation.artifactsDir ?? `vmspawn-check-${label}-${timestamp(new Date())}`);
    let report: CheckReport;
    try {
      const { machine, source } = await machineOf(invocation, io.cwd, artifactsDir, label);
      if (!invocation.json) io.stderr.write(`check: booting ${source.kind === 'default-image' ? 'the default image' : source.path} (artifacts: ${artifactsDir})\n`);
      report = await runCheck({ machine, source, allow: invocation.allow, signal: io.signal });
    } catch (error) {
      if (error instanceof InvalidOptionsError) {
        return usageFailure(io, error.problems.map((problem) => (problem.option ? `${flagOfOption(problem.option)}: ${problem.message}` : problem.message)).join('\n'));
      }
      throw error;
    }
    // The verdict first: a file that cannot be written does not hide it.
    io.stdout.write(invocation.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckSummary(report));
    try {
      await writeArtifacts(report, invocation, io.cwd);
    } catch (error) {
      io.stderr.write(`check: could not write the report files (--artifacts, --junit): ${(error as Error).message}\n`);
      return EXIT_FAILURE;
    }
    return exitCodeOf(report);
  },
};

function usageFailure(io: CliIo, message: string): number {
  io.stderr.write(`check: ${message}\nRun 'vitest-vmspawn check --help' for the flags.\n`);
  return EXIT_USAGE;
}

/** The machine options and the source the report names: the flags' machine options plus what to boot. */
async function machineOf(invocation: CheckInvocation, cwd: string, artifactsDir: string, label: string): Promise<{ machine: MachineOptions; source: CheckReport['machine']['source'] }> {
  const path = (file: string) => resolve(cwd, file);
  const flags = invocation.machine;
  const common: MachineOptions = {
    ...flags,
    ...(flags.linux === undefined ? {} : { linux: path(flags.linux), initrd: (typeof flags.initrd === 'string' ? [flags.initrd] : (flags.initrd ?? [])).map(path) }),
    name: flags.name ?? machineName(label),
    artifactsDir,
    ...(invocation.bootTimeoutMs === undefined ? {} : { bootTimeout: invocation.bootTimeoutMs }),
  };
  const kernelArgs = invocation.kernelArgs;
  const { source } = invocation;
  switch (source.kind) {
    case 'default-image': {
      // Every flag is checked before the default image is built (which can take minutes the first time).
      new Machine({ ...common, linux: "the default image's kernel", kernelArgs });
      const image = await defaultImage();
      return {
        machine: { ...common, ...image.initramfs, kernelArgs: [...image.initramfs.kernelArgs, ...kernelArgs] },
        source: { kind: 'default-image', path: image.directory, initrd: [image.initramfs.initrd].flat() },
      };
    }
    case 'linux': {
      const initrd = source.initrd.map(path);
      return { machine: { ...common, linux: path(source.path), initrd, kernelArgs }, source: { kind: 'linux', path: path(source.path), initrd } };
    }
    case 'image':
      return { machine: { ...common, image: path(source.path), kernelArgs }, source: { kind: 'image', path: path(source.path), initrd: [] } };
    case 'directory':
      return { machine: { ...common, directory: path(source.path), kernelArgs }, source: { kind: 'directory', path: path(source.path), initrd: [] } };
  }
}

/** check-report.json and summary.txt in the artifacts, and the JUnit file when asked for. */
async function writeArtifacts(report: CheckReport, invocation: CheckInvocation, cwd: string): Promise<void> {
  await mkdir(report.artifactsDir, { recursive: true });
  await writeFile(resolve(report.artifactsDir, CHECK_REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(resolve(report.artifactsDir, CHECK_SUMMARY_FILE), formatCheckSummary(report));
  if (invocation.junit !== undefined) {
    const junit = resolve(cwd, invocation.junit);
    await mkdir(dirname(junit), { recursive: true });
    await writeFile(junit, toJUnitXml(report));
  }
}

/** A short name for what is booted: `default-image`, or the file or directory name without its extension. */
export function labelOf(invocation: CheckInvocation, cwd: string): string {
  const { source } = invocation;
  if (source.kind === 'default-image') return 'default-image';
  const name = basename(resolve(cwd, source.path)).replace(/(\.(raw|img|qcow2|efi|zst|xz|gz))+$/, '');
  return name.replace(/[^a-zA-Z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'image';
}

/** The machine name (the guest's hostname) for a label: letters, digits and "-", at most 63 characters. */
function machineName(label: string): string {
  return `check-${label}`.slice(0, 63).replace(/-+$/, '');
}

/** `20261126-033512`, in UTC. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
