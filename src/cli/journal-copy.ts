/**
 * `--forward-journal=FILE|DIR`: where the guest's journal is written when the machine ends, with
 * systemd-journal-remote's `--output` rule (a path ending in `.journal` is the file, anything else a
 * directory that gets `MACHINE.journal`). The native file needs systemd-journal-remote on the host;
 * without it the journal export format is written instead, with `.export` in place of `.journal`.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Where the journal goes for `--forward-journal=path` and machine `name`. */
export function journalTarget(path: string, name: string): string {
  return path.endsWith('.journal') ? path : join(path, `${name}.journal`);
}

/** Copies the machine's journal from `artifactsDir`; resolves with the file written. */
export async function copyJournal(artifactsDir: string, path: string, name: string): Promise<string> {
  const target = journalTarget(path, name);
  await mkdir(dirname(target), { recursive: true });
  const native = join(artifactsDir, 'journal.journal');
  if (await isFile(native)) {
    await copyFile(native, target);
    return target;
  }
  const exported = target.replace(/\.journal$/, '.export');
  await copyFile(join(artifactsDir, 'journal.export'), exported);
  return exported;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
