/**
 * Machines whose process died before it could end them (a test run killed with SIGKILL): a later
 * run kills what they left running, deletes their runtime directories, and finishes their
 * artifacts, which the runtime directory names: the native journal is converted from the export
 * that was saved entry by entry, and summary.json says the machine was abandoned.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reapStaleRuntimeDirs } from '../host/runtime-dir.js';
import { writeNativeJournal } from '../journal/journal-remote.js';
import { ARTIFACT_FILES } from '../plan/machine-layout.js';
import type { MachineExit, MachineSummary } from './summary.js';

/** The file in a runtime directory that names the machine's artifacts directory. */
export const ARTIFACTS_RECORD = 'artifacts-dir';

/** Notes in the runtime directory where the machine's artifacts go, for a later run to finish them. */
export async function recordArtifactsDir(runtimeDir: string, artifactsDir: string): Promise<void> {
  await writeFile(join(runtimeDir, ARTIFACTS_RECORD), `${artifactsDir}\n`, { mode: 0o600 });
}

/**
 * Reaps the machines of processes that are gone (see reapStaleRuntimeDirs), or only the one in
 * runtime directory `only`, and finishes their artifacts. Returns the runtime directories it removed.
 */
export async function reapAbandonedMachines(root?: string, only?: string): Promise<string[]> {
  return reapStaleRuntimeDirs({
    root,
    only,
    async beforeRemove(runtimeDir, ownerPid) {
      const artifactsDir = (await readFile(join(runtimeDir, ARTIFACTS_RECORD), 'utf8').catch(() => '')).trim();
      if (artifactsDir && existsSync(artifactsDir)) await finishAbandonedArtifacts(artifactsDir, ownerPid);
    },
  });
}

/** Writes journal.journal from journal.export and marks summary.json as abandoned, unless the machine's own process did. */
export async function finishAbandonedArtifacts(artifactsDir: string, ownerPid: number | undefined): Promise<void> {
  const summaryFile = join(artifactsDir, ARTIFACT_FILES.summary);
  const summary = JSON.parse(await readFile(summaryFile, 'utf8').catch(() => '{}')) as Partial<MachineSummary>;
  if (summary.exit) return; // the machine ended normally; only its runtime directory was left
  const exportFile = join(artifactsDir, ARTIFACT_FILES.journalExport);
  if (existsSync(exportFile)) {
    const native = await writeNativeJournal(exportFile, join(artifactsDir, ARTIFACT_FILES.journalNative));
    summary.nativeJournal = native.written ? native.path : native.reason;
  }
  const exit: MachineExit = {
    exitStatus: undefined,
    qemuExitCode: undefined,
    qemuSignal: undefined,
    endedBy: 'abandoned',
    reason:
      `the process that ran the machine${ownerPid ? ` (pid ${ownerPid})` : ''} ended without stopping it (was the test run killed?); ` +
      'a later run killed what was left and finished these artifacts',
  };
  await writeFile(summaryFile, `${JSON.stringify({ ...summary, exit }, null, 2)}\n`);
}
