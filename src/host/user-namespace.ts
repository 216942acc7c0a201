/**
 * What a caller without root needs to be root of a user namespace that also maps its subordinate
 * ids (`unshare --map-root-user --map-auto`): newuidmap and newgidmap (package uidmap), and a range
 * in /etc/subuid and /etc/subgid. The virtiofsd of shared directories runs in one.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { VmspawnError } from '../errors.js';
import { findExecutable } from './tools.js';

/** Whether an /etc/subuid or /etc/subgid text gives `user` (by name or uid) a range. Pure. */
export function hasSubordinateRange(fileText: string, user: { name: string; uid: number }): boolean {
  return fileText.split('\n').some((line) => {
    const [owner, start, count] = line.trim().split(':');
    return (owner === user.name || owner === String(user.uid)) && Number(count) > 0 && start !== undefined && start !== '';
  });
}

/** The things missing for `unshare --map-root-user --map-auto`, each with the command that adds it; empty when none is. */
export async function missingForUserNamespace(): Promise<string[]> {
  const { username: name, uid } = userInfo();
  const missing: string[] = [];
  if (!(await findExecutable('newuidmap')) || !(await findExecutable('newgidmap'))) {
    missing.push('newuidmap and newgidmap: sudo apt-get install uidmap');
  }
  for (const [file, option] of [['/etc/subuid', '--add-subuids'], ['/etc/subgid', '--add-subgids']] as const) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (!hasSubordinateRange(text, { name, uid })) missing.push(`a range for ${name} in ${file}: sudo usermod ${option} 100000-165535 ${name}`);
  }
  return missing;
}

/** Throws, naming `purpose`, what is missing and how to add it, unless the user namespace can be had. */
export async function requireUserNamespace(purpose: string): Promise<void> {
  const missing = await missingForUserNamespace();
  if (missing.length === 0) return;
  throw new VmspawnError(
    `${purpose} without root runs in a user namespace with your subordinate ids mapped, which needs:\n` +
      `${missing.map((item) => `  - ${item}`).join('\n')}\nor run as root.`,
  );
}
