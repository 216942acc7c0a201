/**
 * How a test's kept artifacts directory reaches the reports: an annotation (the default and verbose
 * reporters print it, JUnit writes it as a `<property>`), the test's meta (the JSON reporter and blob
 * reports carry it) and a `vitest-vmspawn:artifacts` test artifact. A path is reported only where
 * the directory stays: for a failed test, or for every test with `preserveArtifacts: 'always'`.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { recordArtifact, type TestContext } from 'vitest';
import type { StartedMachine } from '../machine/started-machine.js';

/** The meta key under which a test's kept artifacts directory (absolute) is reported. */
export const ARTIFACTS_META_KEY = 'vitest-vmspawn:artifacts';

declare module 'vitest' {
  interface TaskMeta {
    /** The test's kept artifacts directory, absolute; only on tests whose artifacts were kept. */
    'vitest-vmspawn:artifacts'?: string;
  }
}

/** The annotation's text: the path relative to the working directory, as a terminal user types it. */
export function artifactsAnnotation(artifactsDir: string, cwd: string): string {
  return `VM artifacts: ${relative(cwd, artifactsDir) || artifactsDir}`;
}

/**
 * Reports a kept artifacts directory once the test's result is known (the machine is stopped and
 * the files complete). vitest takes annotations only while a test runs, though its reporters accept
 * them until the test's end is sent, which happens after the fixture's cleanup: the check is passed
 * by showing the test as running for the one synchronous call that records the annotation.
 */
export async function reportKeptArtifacts(
  context: Pick<TestContext, 'task' | 'annotate'>,
  artifactsDir: string,
  summary?: StartedMachine['summary'],
): Promise<void> {
  const { task } = context;
  task.meta[ARTIFACTS_META_KEY] = artifactsDir;
  // A failed boot has no handle; its summary.json says how far it got.
  const machineSummary = summary ?? (await readSummary(artifactsDir));
  if (machineSummary) await recordArtifact(task, { type: 'vitest-vmspawn:artifacts', directory: artifactsDir, summary: machineSummary });
  const result = task.result;
  const state = result?.state;
  let annotated: Promise<unknown>;
  try {
    if (result) result.state = 'run';
    annotated = context.annotate(artifactsAnnotation(artifactsDir, process.cwd()), 'vitest-vmspawn');
  } finally {
    if (result && state) result.state = state;
  }
  await annotated;
}

async function readSummary(artifactsDir: string): Promise<StartedMachine['summary'] | undefined> {
  try {
    return JSON.parse(await readFile(join(artifactsDir, 'summary.json'), 'utf8')) as StartedMachine['summary'];
  } catch {
    return undefined;
  }
}
