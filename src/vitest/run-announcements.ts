/**
 * The lines a run prints once (host decisions, the concurrency picked), handed from the plugin to
 * its global setup, which prints them, and to the workers, which then leave them out.
 */
export const PROVIDED_RUN_KEY = 'vitest-vmspawn:run';

export interface RunAnnouncements {
  /** Host decisions, worded as the machine log words them. */
  lines: string[];
  /** The maxWorkers the plugin picked and why; absent when the project set its own. */
  concurrency?: { maxWorkers: number; reason: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    'vitest-vmspawn:run': RunAnnouncements;
  }
}

/** The lines to print: the concurrency line only when the picked value is the one in force (a CLI flag wins). */
export function runLines(run: RunAnnouncements, maxWorkersInForce: number | undefined): string[] {
  const { concurrency } = run;
  return concurrency && concurrency.maxWorkers === maxWorkersInForce ? [...run.lines, concurrency.reason] : run.lines;
}

const PRINTED = Symbol.for('vitest-vmspawn:printed');

/** Prints each line once per process: every project's global setup runs in the same one. */
export function printOnce(lines: readonly string[], write: (text: string) => void = (text) => process.stderr.write(text)): void {
  const store = globalThis as { [PRINTED]?: Set<string> };
  const printed = (store[PRINTED] ??= new Set());
  for (const line of lines) {
    if (printed.has(line)) continue;
    printed.add(line);
    write(`vitest-vmspawn: ${line}\n`);
  }
}
