/**
 * Whole vitest runs in a child process: small projects written to disk under the repository (so
 * packages resolve), run by vitest with the built package, judged by their JSON report.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';

export const REPO = resolve(import.meta.dirname, '../..');
const INLINE_ROOT = join(REPO, 'test-results', 'inline');

const CONFIG = `
import { defineConfig } from 'vitest/config';
import { vmspawn } from 'vitest-vmspawn/plugin';
export default defineConfig({
  plugins: [vmspawn({ artifactsDir: 'artifacts' })],
  test: { include: ['*.test.ts'], allowOnly: true, maxWorkers: 2 },
});
`;

/** One test of vitest's JSON report. */
export interface AssertionResult {
  title: string;
  status: string;
  failureMessages: string[];
  meta: Record<string, unknown>;
  tags: string[];
}

/** Writes a project of test files into a fresh directory under the repository. */
export async function writeProject(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(INLINE_ROOT, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'vitest.config.ts'), CONFIG);
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
  return dir;
}

export interface StartVitestOptions {
  /** Extra environment, e.g. XDG_RUNTIME_DIR to keep the run's runtime directories apart. */
  env?: Record<string, string>;
  /** Run in a process group of its own, so a signal can reach all of it as Ctrl-C in a terminal does. */
  detached?: boolean;
  /** The reporter that writes to the terminal; 'default' unless given. */
  reporter?: string;
  /** More command line arguments (filters, further reporters). */
  args?: string[];
}

export function startVitest(dir: string, options: StartVitestOptions = {}): ResultPromise<{ all: true; reject: false }> {
  return execa(join(REPO, 'node_modules/.bin/vitest'), [
    'run', '--root', dir, `--reporter=${options.reporter ?? 'default'}`, '--reporter=json', `--outputFile.json=${join(dir, 'report.json')}`, ...(options.args ?? []),
  ], {
    cwd: dir,
    reject: false,
    all: true,
    env: { CI: 'true', ...options.env },
    detached: options.detached ?? false,
  }) as ResultPromise<{ all: true; reject: false }>;
}

/** The tests of a JSON report, by title. */
export async function assertionResults(reportFile: string): Promise<Record<string, AssertionResult>> {
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as { testResults: Array<{ assertionResults: AssertionResult[] }> };
  return Object.fromEntries(report.testResults.flatMap((file) => file.assertionResults.map((result) => [result.title, result])));
}

/** Each test's status and failure messages, from the report a {@link startVitest} run wrote in `dir`. */
export async function statuses(dir: string): Promise<Record<string, { status: string; failure: string }>> {
  const results = await assertionResults(join(dir, 'report.json'));
  return Object.fromEntries(Object.entries(results).map(([title, result]) => [title, { status: result.status, failure: result.failureMessages.join('\n') }]));
}
