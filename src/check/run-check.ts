/**
 * One check, from boot to power-off: boots the machine, asks the guest what `check` reports
 * (`systemctl is-system-running`, `systemd-analyze time`, the failed units), takes the forwarded
 * journal as it stands, powers the guest off and builds the report. Everything it judges is in
 * build-report.ts; this module only gathers.
 */
import { performance } from 'node:perf_hooks';
import { BootError, InvalidOptionsError } from '../errors.js';
import type { JournalMatch } from '../journal/journal-entry.js';
import type { BootStage } from '../machine/boot-progress.js';
import { Machine } from '../machine/machine.js';
import type { StartedMachine } from '../machine/started-machine.js';
import { listFailedUnits } from '../matchers/unit-matchers.js';
import type { MachineOptions } from '../options/machine-options.js';
import { buildCheckReport } from './build-report.js';
import type { CheckFacts } from './check-facts.js';
import type { CheckReport } from './check-report.js';
import { parseSystemdAnalyzeTime, SYSTEMD_ANALYZE_TIME_COMMAND, type SystemdAnalyzeTime } from './systemd-analyze.js';

/** How long `systemctl is-system-running --wait` may wait for the boot's last jobs. */
export const SYSTEM_STATE_TIMEOUT_MS = 60_000;
/** How long `systemd-analyze time` is retried while it says the boot is not finished. */
export const SYSTEMD_ANALYZE_TIMEOUT_MS = 30_000;

export interface RunCheckOptions {
  /** The machine to boot; `artifactsDir` should be set, so that the artifacts are kept. */
  machine: MachineOptions;
  /** What the report names as booted. */
  source: CheckReport['machine']['source'];
  allow: { patterns: string[]; matches: JournalMatch[] };
  /** Stops the check: a boot in progress is killed, a running machine is shut down. */
  signal?: AbortSignal;
  /** Called at each boot stage as it happens (for progress lines). */
  onBootStage?: (stage: BootStage) => void;
}

/**
 * Boots, checks and powers off; resolves with the report. Bad machine options reject with the
 * engine's InvalidOptionsError before anything starts; a failed boot is a report, not an error.
 */
export async function runCheck(options: RunCheckOptions): Promise<CheckReport> {
  const definition = new Machine(options.machine);
  const startedAt = new Date();
  const start = performance.now();
  const stages: BootStage[] = [];
  const facts: CheckFacts = {
    machine: {
      name: definition.options.name,
      source: options.source,
      accelerator: null,
      vsock: null,
      cpus: definition.options.cpus,
      ramBytes: definition.options.ramBytes,
    },
    startedAt,
    durationMs: 0,
    artifactsDir: definition.options.artifactsDir ?? '',
    allow: options.allow,
    stages,
    journal: [],
  };
  let vm: StartedMachine | undefined;
  try {
    vm = await definition.start({
      signal: options.signal,
      onBootStage: (stage) => {
        stages.push(stage);
        options.onBootStage?.(stage);
      },
    });
  } catch (error) {
    if (error instanceof InvalidOptionsError || options.signal?.aborted) throw error;
    facts.bootFailure = bootFailureOf(error);
  }
  if (vm) {
    // Stopping the check (Ctrl-C) ends the machine; the inspection's commands then fail and the check rejects.
    const running = vm;
    const stopOnAbort = () => void running.kill().catch(() => undefined);
    options.signal?.addEventListener('abort', stopOnAbort, { once: true });
    try {
      await inspect(vm, facts);
      if (options.signal?.aborted) throw options.signal.reason;
      const powerOffStart = performance.now();
      await vm.shutdown();
      const exit = vm.summary.exit;
      if (exit) facts.powerOff = { exit, durationMs: performance.now() - powerOffStart, notifyAvailable: vm.notify.unavailable === undefined };
    } finally {
      options.signal?.removeEventListener('abort', stopOnAbort);
      await vm.stop();
    }
  }
  facts.durationMs = performance.now() - start;
  return buildCheckReport(facts);
}

async function inspect(vm: StartedMachine, facts: CheckFacts): Promise<void> {
  facts.machine.accelerator = vm.accelerator;
  facts.machine.vsock = vm.summary.vsock;
  facts.systemState = await systemState(vm);
  facts.systemdAnalyze = await systemdAnalyze(vm);
  facts.failedUnits = await listFailedUnits(vm).catch((error: unknown) => ({ error: messageOf(error) }));
  facts.journal = vm.journal.entries();
}

/** `systemctl is-system-running --wait`: waits out a boot still finishing, then prints the state (exit 1 for anything but running). */
async function systemState(vm: StartedMachine): Promise<CheckFacts['systemState']> {
  try {
    const result = await vm.exec(['systemctl', 'is-system-running', '--wait'], { reject: false, timeout: SYSTEM_STATE_TIMEOUT_MS });
    const state = result.stdout.trim().split('\n').at(-1)?.trim();
    return state ? { state } : { error: `systemctl is-system-running printed nothing (status ${result.exitCode}): ${result.stderr.trim()}` };
  } catch (error) {
    return { error: messageOf(error) };
  }
}

/** `systemd-analyze time`, retried while the boot is not finished (it then fails with "Bootup is not yet finished"). */
async function systemdAnalyze(vm: StartedMachine): Promise<SystemdAnalyzeTime | { error: string }> {
  try {
    const { stdout } = await vm.waitUntilSucceeds(SYSTEMD_ANALYZE_TIME_COMMAND, { timeout: SYSTEMD_ANALYZE_TIMEOUT_MS });
    return parseSystemdAnalyzeTime(stdout) ?? { error: `unexpected output of ${SYSTEMD_ANALYZE_TIME_COMMAND}: ${stdout.trim().slice(0, 200)}` };
  } catch (error) {
    return { error: messageOf(error) };
  }
}

function bootFailureOf(error: unknown): NonNullable<CheckFacts['bootFailure']> {
  if (error instanceof BootError) return { error: error.message, failedUnits: error.failedUnits, journalErrors: error.journalErrors };
  return { error: messageOf(error), failedUnits: [], journalErrors: [] };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
