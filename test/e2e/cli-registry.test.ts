/**
 * The command line's machine subcommands against a machine that a running test of another vitest
 * run started: `list` shows it with its test, `exec`, `shell` and `journal` reach it, `terminate`
 * makes its test see it end, with no process left, and `list` no longer shows it. One boot.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import type { CliCommand } from '../../src/cli/command.js';
import { command as exec } from '../../src/cli/commands/exec.js';
import { command as journal } from '../../src/cli/commands/journal.js';
import { command as list } from '../../src/cli/commands/list.js';
import { command as shell } from '../../src/cli/commands/shell.js';
import { command as terminate } from '../../src/cli/commands/terminate.js';
import { isRunning, processesMentioning } from './helpers.js';
import { startVitest, statuses, writeProject } from './inline-vitest.js';
import { runCliCommand, type CliRunResult } from '../support/run-cli-command.js';

const HELD = 'held for the command line';

interface Listed {
  id: string;
  state: string;
  name?: string;
  test?: string;
  qemuPid?: number;
  transport?: string;
  artifactsDir?: string;
  machined?: string;
}

/** Runs a command in this process with captured streams and the given input. */
function runCommand(command: CliCommand, argv: string[], input = '', signal?: AbortSignal): Promise<CliRunResult> {
  return runCliCommand(command, argv, { input, ...(signal && { signal }) });
}

async function listed(): Promise<Listed[]> {
  const { code, stdout, stderr } = await runCommand(list, ['--json']);
  if (code !== 0) throw new Error(`list failed: ${stderr}`);
  return JSON.parse(stdout) as Listed[];
}

/** Polls `list` until the held test's machine runs; the child run's output explains a failure. */
async function waitForHeldMachine(childOutput: () => string, childEnded: () => boolean): Promise<Listed> {
  const deadline = Date.now() + 240_000;
  let last: Listed[] = [];
  while (Date.now() < deadline && !childEnded()) {
    last = await listed();
    const found = last.find((entry) => entry.state === 'running' && entry.test?.endsWith(`> ${HELD}`));
    if (found) return found;
    await sleep(500);
  }
  throw new Error(`list never showed the running test's machine; last listed: ${JSON.stringify(last)}\nchild run:\n${childOutput()}`);
}

/** What a journal command prints, polled until it contains `text` (forwarding is asynchronous). */
async function journalUntil(argv: string[], text: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  let output = '';
  while (Date.now() < deadline) {
    const result = await runCommand(journal, argv);
    output = result.stdout + result.stderr;
    if (output.includes(text)) return output;
    await sleep(250);
  }
  throw new Error(`journal ${argv.join(' ')} never showed "${text}"; it printed:\n${output}`);
}

let machinedOutcome: string | undefined;

test('list, exec, shell and journal reach a machine a running test started; terminate ends it and its test sees that', async () => {
  const dir = await writeProject('cli-registry', {
    'held.test.ts': `
      import { expect } from 'vitest';
      import { test } from 'vitest-vmspawn';
      // A name of its own: machines of other files, booting or running beside it, are named vm.
      test.vm(${JSON.stringify(HELD)}, { name: 'cli-registry-held' }, async ({ vm }) => {
        const exit = await vm.waitForExit({ timeout: 280_000 });
        expect(exit.endedBy).toBe('shutdown');
      });
    `,
  });
  const child = startVitest(dir, { args: ['--testTimeout=300000'] });
  let output = '';
  let childEnded = false;
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  void child.finally(() => (childEnded = true));
  try {
    const machine = await waitForHeldMachine(() => output, () => childEnded);
    const name = machine.name!;
    expect(name).toBe('cli-registry-held');
    expect(machine).toMatchObject({ test: `held.test.ts > ${HELD}`, state: 'running' });
    expect(isRunning(machine.qemuPid)).toBe(true);
    machinedOutcome = machine.machined;
    const table = await runCommand(list, []);
    expect(table.stdout).toMatch(new RegExp(`^${name} +${machine.id} +running +\\d+s +(tcg|kvm) +${machine.transport} +\\d+ +held\\.test\\.ts > ${HELD} +`, 'm'));

    // exec: output passed through, the command's exit status is the exit code.
    expect(await runCommand(exec, [name, '--', 'echo from-exec; echo to-stderr >&2; exit 3'])).toEqual({ code: 3, stdout: 'from-exec\n', stderr: 'to-stderr\n' });
    expect(await runCommand(exec, [name, '--', 'printf', '%s|', 'a b', "it's"])).toMatchObject({ code: 0, stdout: "a b|it's|" });

    // shell: a root login shell reading its commands from stdin.
    const session = await runCommand(shell, [name], 'echo "shell-$((40 + 2)) $(id -un) $(hostname)"\nexit 0\n');
    expect(session).toMatchObject({ code: 0, stdout: expect.stringContaining(`shell-42 root ${name}`) });

    // journal: journalctl's filters on the forwarded journal; -f ends when the machine does.
    expect((await runCommand(exec, [name, '--', 'logger -t cli-registry -p user.err marker-one'])).code).toBe(0);
    expect(await journalUntil([name, '-t', 'cli-registry', '-o', 'cat'], 'marker-one')).toBe('marker-one\n');
    expect((await runCommand(journal, [name, '-t', 'cli-registry', '-p', 'warning'])).stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} cli-registry\[\d+\]: marker-one\n$/);
    const stopFollowing = new AbortController();
    let followed = '';
    const follow = runCommand(journal, [name, '-f', '-t', 'cli-registry', '-o', 'cat'], '', stopFollowing.signal).then((result) => {
      followed = result.stdout;
      return result.code;
    });
    expect((await runCommand(exec, [name, '--', 'logger -t cli-registry marker-two'])).code).toBe(0);
    // The follower's output is known when it ends: wait until the entry is in the file, so it has it.
    await journalUntil([name, '-t', 'cli-registry', '-o', 'cat'], 'marker-two');

    // terminate: the owning worker shuts the machine down; its test sees it end as a shutdown.
    const ended = await runCommand(terminate, [name]);
    expect(ended).toMatchObject({ code: 0, stdout: expect.stringContaining(`terminated ${name}: shut down by its process`) });
    expect(await Promise.race([follow, sleep(10_000).then(() => 'journal -f did not end with the machine')])).toBe(0);
    expect(followed).toBe('marker-one\nmarker-two\n');
    const result = await child;
    expect(result.exitCode, result.all).toBe(0);
    expect(await statuses(dir)).toMatchObject({ [HELD]: { status: 'passed' } });
    expect(isRunning(machine.qemuPid)).toBe(false);
    expect(processesMentioning(machine.id)).toEqual([]);
    expect((await listed()).find((entry) => entry.id === machine.id)).toBeUndefined();
    // No such machine any more: a clear error.
    expect(await runCommand(exec, [name, '--', 'true'])).toMatchObject({ code: 1, stderr: expect.stringContaining(`no machine is named "${name}"`) });
  } finally {
    if (!childEnded) child.kill('SIGINT');
    await child.catch(() => undefined);
  }
});

test('systemd-machined lists the machine (registration as vmspawn --register)', (context) => {
  // Where machined runs and the process is root, the record says so and machinectl showed the machine.
  if (!machinedOutcome?.startsWith('registered')) context.skip(`not registered on this host: ${machinedOutcome ?? 'no machine was started'}`);
  expect(machinedOutcome).toMatch(/^registered with systemd-machined by (varlinkctl|busctl)/);
});
