/** Shared pieces of the end-to-end tests: the default image, process checks and vitest runs in child processes. */
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, inject } from 'vitest';
import { isProcessAlive, processCommandLine } from '../../src/host/process-status.js';
import { defaultImage, type DefaultImage } from '../../src/image/default-image.js';
import type { MachineSummary } from '../../src/machine/summary.js';

/** The default image, as the plugin's global setup built it (or built now, when run without it). */
export async function image(): Promise<DefaultImage> {
  return inject('vitest-vmspawn:default-image') ?? defaultImage();
}

/** Whether a process with this PID runs; a zombie counts as gone. */
export function isRunning(pid: number | undefined): boolean {
  return pid !== undefined && isProcessAlive(pid);
}

/** A fresh temporary directory for the tests of one file, deleted after them. */
export function useWorkDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('the work directory exists only while the tests run');
    return dir;
  };
}

/** Live processes (other than this one) whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => (processCommandLine(Number(pid))?.includes(text) ?? false) && isRunning(Number(pid)))
    .map(Number);
}

/** QEMU and vsock daemon of a machine that are still running. */
export function machineProcesses(summary: MachineSummary): number[] {
  return [summary.processes.qemu, summary.processes.vsockDaemon].filter((pid): pid is number => isRunning(pid));
}

/** The private runtime directory of a QEMU process, read from its vhost-user socket argument. */
export function runtimeDirOf(qemuPid: number): string | undefined {
  const args = processCommandLine(qemuPid)?.split('\0') ?? [];
  const socket = args.map((arg) => /^socket,id=vsock,path=(.*)\/vhost-user-vsock\.sock$/.exec(arg)?.[1]).find(Boolean);
  return socket?.replaceAll(',,', ',');
}

const REPO = resolve(import.meta.dirname, '../..');
const INLINE_ROOT = join(REPO, 'test-results', 'inline');

const CONFIG = `
import { defineConfig } from 'vitest/config';
import { vmspawn } from 'vitest-vmspawn/plugin';
export default defineConfig({
  plugins: [vmspawn({ artifactsDir: 'artifacts' })],
  test: { include: ['*.test.ts'], allowOnly: true, maxWorkers: 2 },
});
`;

interface Report {
  testResults: Array<{ name: string; assertionResults: Array<{ title: string; status: string; failureMessages: string[] }> }>;
}

/** Writes a vitest project of test files into a fresh directory under the repository (so packages resolve). */
export async function writeProject(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(INLINE_ROOT, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'vitest.config.ts'), CONFIG);
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
  return dir;
}

/** Runs vitest on a project written by writeProject, with the default and the JSON reporter. */
export function startVitest(dir: string): ResultPromise<{ all: true; reject: false }> {
  return execa(join(REPO, 'node_modules/.bin/vitest'), ['run', '--root', dir, '--reporter=default', '--reporter=json', `--outputFile.json=${join(dir, 'report.json')}`], {
    cwd: dir,
    reject: false,
    all: true,
    env: { CI: 'true' },
  });
}

/** Each test's status and failure messages, by title, from the JSON report. */
export async function statuses(dir: string): Promise<Record<string, { status: string; failure: string }>> {
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Report;
  return Object.fromEntries(
    report.testResults.flatMap((file) =>
      file.assertionResults.map((result) => [result.title, { status: result.status, failure: result.failureMessages.join('\n') }]),
    ),
  );
}
