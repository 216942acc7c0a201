/**
 * Debug mode (`VMSPAWN_DEBUG=1`, or the plugin's `debug: true`): a failed test's machine keeps
 * running, and the run prints how to open a shell in it and follow its journal with OpenSSH, then
 * waits until the person is done: the flag file printed with it is deleted, the guest powers off,
 * or the run is interrupted (Ctrl-C). No prompt: it works without a terminal and with parallel workers.
 *
 * The client key, known_hosts and an ssh_config go into a private directory (0700, files 0600); the
 * guest's sshd is reached as the engine reaches it (see ssh/ssh-client-files.ts).
 */
import { existsSync, rmSync, watch } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedMachine } from '../machine/started-machine.js';
import { writeSshClientFiles } from '../ssh/ssh-client-files.js';

/** The environment variable that turns debug mode on. */
export const DEBUG_ENV = 'VMSPAWN_DEBUG';

/** Whether debug mode is on: `VMSPAWN_DEBUG=1` (or `true`/`yes`) in the environment, or the plugin option. */
export function debugModeOn(configured: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[DEBUG_ENV]?.trim().toLowerCase();
  if (value !== undefined && value !== '') return !['0', 'false', 'no', 'off'].includes(value);
  return configured ?? false;
}

export interface DebugShell {
  /** The private directory with the key, known_hosts, ssh_config and the flag file. */
  directory: string;
  /** `ssh -F <dir>/ssh_config <host>`: a root shell in the guest. */
  sshCommand: string[];
  /** The same, following the guest's journal. */
  journalCommand: string[];
  /** Delete this file to let the test run go on (the machine is then shut down). */
  flagFile: string;
}

/** Writes the files a person needs to reach the machine with `ssh`. */
export async function prepareDebugShell(vm: StartedMachine): Promise<DebugShell> {
  const access = vm.sshAccess;
  if (!access) throw new Error('the machine has no SSH (ssh: false)');
  const directory = await mkdtemp(join(tmpdir(), 'vitest-vmspawn-debug-'));
  const { sshCommand } = await writeSshClientFiles(directory, vm.name, access);
  const flagFile = join(directory, 'keep-running');
  await writeFile(flagFile, 'Delete this file to end the debug wait; the test run then shuts the machine down.\n', { mode: 0o600 });
  return { directory, sshCommand, journalCommand: [...sshCommand, 'journalctl', '-f'], flagFile };
}

/** What debug mode prints for a kept machine. */
export function describeDebugShell(testName: string, vm: Pick<StartedMachine, 'name' | 'artifactsDir'>, shell: DebugShell): string {
  return [
    `vitest-vmspawn debug: "${testName}" failed; its machine "${vm.name}" keeps running.`,
    `  shell:    ${shell.sshCommand.join(' ')}`,
    `  journal:  ${shell.journalCommand.join(' ')}`,
    `  continue: rm ${shell.flagFile}   (or power the guest off, or press Ctrl-C)`,
    `  artifacts: ${vm.artifactsDir}`,
    '',
  ].join('\n');
}

/** Resolves when the flag file is gone or the machine has exited; then deletes the directory. */
export async function waitForDebugEnd(vm: Pick<StartedMachine, 'waitForExit'>, shell: DebugShell): Promise<'flag-deleted' | 'machine-exited'> {
  // Also on an exit of the worker (Ctrl-C ends the machines and the process): the key must not stay behind.
  const removeOnExit = () => rmSync(shell.directory, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  const watcher = watch(shell.directory);
  try {
    const flagDeleted = new Promise<'flag-deleted'>((resolve) => {
      const check = () => {
        if (!existsSync(shell.flagFile)) resolve('flag-deleted');
      };
      watcher.on('change', check);
      watcher.on('error', () => resolve('flag-deleted'));
      check();
    });
    const exited = vm.waitForExit().then(() => 'machine-exited' as const, () => 'machine-exited' as const);
    return await Promise.race([flagDeleted, exited]);
  } finally {
    watcher.close();
    process.off('exit', removeOnExit);
    removeOnExit();
  }
}
