/**
 * Children of a worker whose runner went away (Ctrl-C reaches the whole process group, the runner
 * exits, the IPC channel closes): the machine's processes are killed at once, while a tool that is
 * finishing an artifact (the native journal) runs to its end. The worker is the built code in a
 * forked Node process, as vitest forks its workers.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { isProcessAlive } from '../../src/host/process-status.js';
import { TOOL_GRACE_MS } from '../../src/process/managed-process.js';

const REPO = resolve(import.meta.dirname, '../..');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmspawn-managed-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes the worker: it owns a managed `sleep 600` and runs `toolScript` as a tool; once its parent is gone it records the tool's result and exits. */
async function writeWorker(toolScript: string): Promise<string> {
  const worker = join(dir, 'worker.mjs');
  await writeFile(
    worker,
    `
    import { writeFileSync } from 'node:fs';
    import { onParentGone, runOwned, spawnManaged } from ${JSON.stringify(join(REPO, 'dist/process/managed-process.js'))};
    const dir = process.argv[2];
    const machine = await spawnManaged('sleeper', 'sleep', ['600'], { logFile: dir + '/sleeper.log', pidFile: dir + '/pids' });
    const tool = runOwned('sh', ['-c', ${JSON.stringify(toolScript)}.replaceAll('DIR', dir)]);
    onParentGone(() => {
      void tool.then((result) => {
        writeFileSync(dir + '/tool-result', JSON.stringify(result));
        process.exit(0);
      });
    });
    process.send({ machine: machine.pid });
    `,
  );
  return worker;
}

test('when the parent goes away, managed processes are killed and a running tool finishes', async () => {
  const worker = await writeWorker('sleep 1; echo converted > DIR/tool-output');
  const child = fork(worker, [dir], { stdio: 'ignore' });
  const { machine } = await new Promise<{ machine: number }>((done) => child.once('message', (message) => done(message as { machine: number })));
  expect(isProcessAlive(machine)).toBe(true);
  const exited = new Promise((done) => child.once('exit', done));
  child.disconnect();

  await expect.poll(() => isProcessAlive(machine), { timeout: 5_000 }).toBe(false);
  expect(existsSync(join(dir, 'tool-output'))).toBe(false); // still running when the machine was killed
  await exited;
  expect(JSON.parse(await readFile(join(dir, 'tool-result'), 'utf8'))).toEqual({ exitCode: 0, output: '' });
  expect(await readFile(join(dir, 'tool-output'), 'utf8')).toBe('converted\n');
});

test('a tool still running after the grace period is killed, so a hung one cannot keep the process alive', async () => {
  const worker = await writeWorker('exec sleep 600');
  const child = fork(worker, [dir], { stdio: 'ignore' });
  const { machine } = await new Promise<{ machine: number }>((done) => child.once('message', (message) => done(message as { machine: number })));
  const exited = new Promise((done) => child.once('exit', done));
  const disconnected = Date.now();
  child.disconnect();
  await exited;
  expect(Date.now() - disconnected).toBeGreaterThanOrEqual(TOOL_GRACE_MS - 100);
  expect(isProcessAlive(machine)).toBe(false);
  // Killed: no exit code (JSON drops the undefined field).
  expect(JSON.parse(await readFile(join(dir, 'tool-result'), 'utf8'))).toEqual({ output: '' });
}, 20_000);
