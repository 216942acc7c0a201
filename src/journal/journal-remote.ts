/**
 * Conversion of the saved export stream into a native journal file with systemd-journal-remote,
 * so that `journalctl --file` reads the guest's journal on the host.
 */
import { rename, rm } from 'node:fs/promises';
import { findExecutable } from '../host/tools.js';
import { runOwned } from '../process/managed-process.js';

export type NativeJournalResult = { written: true; path: string } | { written: false; reason: string };

/** Writes `exportFile` as the native journal file `journalFile` (replacing it). */
export async function writeNativeJournal(exportFile: string, journalFile: string): Promise<NativeJournalResult> {
  const journalRemote = await findExecutable('systemd-journal-remote', ['/usr/lib/systemd', '/lib/systemd']);
  if (!journalRemote) {
    return { written: false, reason: 'systemd-journal-remote is not installed (Debian: apt-get install systemd-journal-remote); the export file is kept' };
  }
  // journal-remote appends to an existing file, and the output name must end in .journal.
  const partial = journalFile.replace(/\.journal$/, '') + `.partial-${process.pid}.journal`;
  await rm(partial, { force: true });
  // A worker that ends mid-conversion must not leave journal-remote behind; the next run converts the export.
  const result = await runOwned(journalRemote, ['--split-mode=none', `--output=${partial}`, exportFile]);
  if (result.exitCode !== 0) {
    await rm(partial, { force: true });
    return { written: false, reason: `systemd-journal-remote failed (exit ${result.exitCode}): ${result.output}` };
  }
  await rename(partial, journalFile);
  return { written: true, path: journalFile };
}
