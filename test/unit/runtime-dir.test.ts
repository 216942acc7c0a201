import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { isProcessAlive } from '../../src/host/process-status.js';
import { createRuntimeDir, reapStaleRuntimeDirs, removeRuntimeDir, runtimeRoot } from '../../src/host/runtime-dir.js';
import { finishAbandonedArtifacts, reapAbandonedMachines } from '../../src/machine/abandoned-machines.js';

const REPO = resolve(import.meta.dirname, '../..');
let base: string;
const savedRuntimeDir = process.env.XDG_RUNTIME_DIR;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'vmspawn-runtime-'));
  process.env.XDG_RUNTIME_DIR = base;
});

afterEach(async () => {
  process.env.XDG_RUNTIME_DIR = savedRuntimeDir;
  await rm(base, { recursive: true, force: true });
});

test('runtime directories are private and record their owner', async () => {
  const dir = await createRuntimeDir();
  expect(dir.startsWith(runtimeRoot())).toBe(true);
  expect(statSync(runtimeRoot()).mode & 0o777).toBe(0o700);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect((await readFile(join(dir, 'owner'), 'utf8')).split(' ')[0]).toBe(String(process.pid));
  // Ours, and we are alive: not stale.
  expect(await reapStaleRuntimeDirs()).toEqual([]);
  await removeRuntimeDir(dir);
  expect(existsSync(dir)).toBe(false);
});

test('the directory of a process killed with SIGKILL is reaped, with the processes it recorded', async () => {
  // A process that creates a runtime directory, records a child that names it, and hangs.
  const script = `
    import { spawn } from 'node:child_process';
    import { appendFileSync } from 'node:fs';
    import { createRuntimeDir } from ${JSON.stringify(join(REPO, 'dist/host/runtime-dir.js'))};
    const dir = await createRuntimeDir();
    const child = spawn('sleep', ['600', dir], { detached: true, stdio: 'ignore' });
    appendFileSync(dir + '/pids', child.pid + ' sleep\\n');
    console.log(JSON.stringify({ dir, child: child.pid }));
    setInterval(() => {}, 1000);
  `;
  const owner = execa('node', ['--input-type=module', '-e', script], { env: { XDG_RUNTIME_DIR: base } });
  const line = await new Promise<string>((done) => owner.stdout?.once('data', (chunk: Buffer) => done(chunk.toString())));
  const { dir, child } = JSON.parse(line) as { dir: string; child: number };
  owner.kill('SIGKILL');
  await owner.catch(() => undefined);

  expect(existsSync(dir)).toBe(true);
  expect(await reapStaleRuntimeDirs()).toEqual([dir]);
  expect(existsSync(dir)).toBe(false);
  await expect.poll(() => isProcessAlive(child)).toBe(false);
});

test('process ids that address groups, not a process, are never alive', () => {
  expect(isProcessAlive(process.pid)).toBe(true);
  for (const pid of [0, -1, -process.pid, 1.5, Number.NaN]) expect(isProcessAlive(pid), String(pid)).toBe(false);
});

test('a later run finishes the artifacts of a machine whose process was killed: native journal and summary', async () => {
  const artifactsDir = join(base, 'artifacts');
  await mkdir(artifactsDir);
  const entry = '__CURSOR=s=1\n__REALTIME_TIMESTAMP=1700000000123456\n__MONOTONIC_TIMESTAMP=1000\n_BOOT_ID=0123456789abcdef0123456789abcdef\nSYSLOG_IDENTIFIER=mytest\nMESSAGE=before the kill\n\n';
  await writeFile(join(artifactsDir, 'journal.export'), entry);
  await writeFile(join(artifactsDir, 'summary.json'), JSON.stringify({ name: 'vm', readyAfterMs: 1234 }));
  // A process that owned the machine, recorded the artifacts directory, and was killed.
  const script = `
    import { createRuntimeDir } from ${JSON.stringify(join(REPO, 'dist/host/runtime-dir.js'))};
    import { recordArtifactsDir } from ${JSON.stringify(join(REPO, 'dist/machine/abandoned-machines.js'))};
    const dir = await createRuntimeDir();
    await recordArtifactsDir(dir, ${JSON.stringify(artifactsDir)});
    console.log(dir);
    setInterval(() => {}, 1000);
  `;
  const owner = execa('node', ['--input-type=module', '-e', script], { env: { XDG_RUNTIME_DIR: base } });
  const dir = await new Promise<string>((done) => owner.stdout?.once('data', (chunk: Buffer) => done(chunk.toString().trim())));
  owner.kill('SIGKILL');
  await owner.catch(() => undefined);

  expect(await reapAbandonedMachines()).toEqual([dir]);
  const summary = JSON.parse(await readFile(join(artifactsDir, 'summary.json'), 'utf8'));
  expect(summary).toMatchObject({ name: 'vm', readyAfterMs: 1234, exit: { endedBy: 'abandoned', reason: expect.stringMatching(/ended without stopping it/) } });
  const { stdout } = await execa('journalctl', ['--file', join(artifactsDir, 'journal.journal'), '-o', 'cat']);
  expect(stdout).toBe('before the kill');
  // A summary that already tells how the machine ended is left alone.
  await writeFile(join(artifactsDir, 'summary.json'), JSON.stringify({ exit: { endedBy: 'guest' } }));
  await finishAbandonedArtifacts(artifactsDir, 1);
  expect(JSON.parse(await readFile(join(artifactsDir, 'summary.json'), 'utf8'))).toEqual({ exit: { endedBy: 'guest' } });
});
