/**
 * A machine that several tests use: booted into the artifacts directory of its file or describe,
 * shut down within the hook that ends it, its artifacts kept when one of its tests failed. Each
 * test's part of the journal is written beside them (`tests/<test>.journal.txt`, listed in `tests.jsonl`).
 */
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidOptionsError } from '../../errors.js';
import { Machine, type StartOptions } from '../../machine/machine.js';
import type { StartedMachine } from '../../machine/started-machine.js';
import { checkArtifactsDir } from '../../options/check-artifacts-dir.js';
import type { MachineOptions } from '../../options/machine-options.js';
import { settlesWithin } from '../../util/within.js';
import type { PreserveArtifacts } from '../config.js';
import { formatJournalLine } from '../../journal/journal-line.js';
import type { JournalSlice } from './journal-slice.js';
import { planTeardown } from './teardown-budget.js';

export interface SharedMachine {
  vm: StartedMachine;
  artifactsDir: string;
  /** The resolved `shutdownTimeout`. */
  shutdownTimeout: number;
  /** Whether a test that used it failed: its artifacts are then kept (`preserveArtifacts: 'failures-only'`). */
  failed: boolean;
  /** The resolved `journalRateLimit`. */
  journalRateLimit: boolean;
  /** The name its boot progress lines and the run summary give it. */
  label: string;
}

/** Boots a machine into `artifactsDir`, which is emptied first; `start` gets its abort signal and progress listener. */
export async function bootSharedMachine(options: MachineOptions, artifactsDir: string, label: string, start: StartOptions): Promise<SharedMachine> {
  const machine = new Machine({ ...options, artifactsDir }); // throws on bad options, before anything else
  const unusable = await checkArtifactsDir(artifactsDir);
  if (unusable) throw new InvalidOptionsError([unusable], 'vitest-vmspawn plugin options');
  await rm(artifactsDir, { recursive: true, force: true });
  await mkdir(artifactsDir, { recursive: true });
  const vm = await machine.start(start);
  return { vm, artifactsDir, shutdownTimeout: machine.options.shutdownTimeout, failed: false, journalRateLimit: machine.options.journalRateLimit, label };
}

/**
 * Shuts the machine down within `hookTimeout` (the guest gets what is left after QEMU's quit and
 * the artifacts, QEMU is killed before the hook times out), then keeps or deletes its artifacts.
 */
export async function endSharedMachine(shared: SharedMachine, hookTimeout: number, preserve: PreserveArtifacts): Promise<void> {
  const { powerOffWaitMs, killAfterMs } = planTeardown(hookTimeout, shared.shutdownTimeout);
  const shutdown = shared.vm.shutdown({ timeout: powerOffWaitMs }).catch(() => undefined);
  if (killAfterMs === undefined || !(await settlesWithin(shutdown, killAfterMs))) {
    if (killAfterMs !== undefined) await shared.vm.kill().catch(() => undefined);
    await shutdown;
  }
  if (!keepsArtifacts(preserve, shared.failed)) await rm(shared.artifactsDir, { recursive: true, force: true });
}

export function keepsArtifacts(preserve: PreserveArtifacts, failed: boolean): boolean {
  return preserve === 'always' || (preserve === 'failures-only' && failed);
}

export interface TestSliceRecord {
  /** The test's full name (describes and title). */
  test: string;
  /** File of the test, relative to the project root. */
  file: string;
  state: string;
  retry: number;
  repeat: number;
}

/** Writes a test's journal slice to `tests/<name>.journal.txt` and lists it in `tests.jsonl`; returns the slice file's path. */
export async function writeTestSlice(shared: SharedMachine, sliceName: string, record: TestSliceRecord, slice: JournalSlice): Promise<string> {
  const directory = join(shared.artifactsDir, 'tests');
  const sliceFile = join(directory, `${sliceName}.journal.txt`);
  await mkdir(directory, { recursive: true });
  await writeFile(sliceFile, slice.entries.map((entry) => `${formatJournalLine(entry)}\n`).join(''));
  const line = { ...record, journal: { file: `tests/${sliceName}.journal.txt`, from: slice.from, to: slice.to } };
  await appendFile(join(shared.artifactsDir, 'tests.jsonl'), `${JSON.stringify(line)}\n`);
  return sliceFile;
}
