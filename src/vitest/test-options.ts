/**
 * The options of a `test.vm` test: vitest's own test options, and the machine options for the
 * fixture. A name that is neither is a typo, reported with the name it most likely meant.
 */
import type { TestOptions } from 'vitest';
import { InvalidOptionsError } from '../errors.js';
import type { MachineOptions } from '../options/machine-options.js';
import { MACHINE_OPTION_NAMES, MAX_TIMER_MS } from '../options/schema.js';
import { unknownOptionProblem } from '../options/suggest.js';

/** vitest's own test options that `test.vm` accepts next to the machine options. */
export const VITEST_TEST_OPTION_NAMES = ['timeout', 'retry', 'repeats', 'concurrent', 'skip', 'only', 'todo', 'fails', 'tags', 'meta'] as const;

export type VitestTestOptions = Pick<TestOptions, (typeof VITEST_TEST_OPTION_NAMES)[number]>;

/** Options of one VM test: the machine's options, plus vitest's `timeout`, `retry`, `tags`, … */
export type VmTestOptions = MachineOptions & VitestTestOptions;

/** vitest's options to vitest, everything else to the machine (where unknown names are caught). */
export function splitTestOptions(options: VmTestOptions): { testOptions: VitestTestOptions; machineOptions: MachineOptions } {
  const testOptions: Record<string, unknown> = {};
  const machineOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    ((VITEST_TEST_OPTION_NAMES as readonly string[]).includes(key) ? testOptions : machineOptions)[key] = value;
  }
  return { testOptions: testOptions as VitestTestOptions, machineOptions: machineOptions as MachineOptions };
}

/**
 * Throws {@link InvalidOptionsError} for names in a test's machine options that are neither machine
 * options nor vitest's, suggesting the closest of both (`timeot` → `timeout`).
 */
export function rejectUnknownTestOptions(machineOptions: MachineOptions, context = 'test.vm options'): void {
  const knownNames = [...MACHINE_OPTION_NAMES, ...VITEST_TEST_OPTION_NAMES];
  const accepted = `machine options: ${MACHINE_OPTION_NAMES.join(', ')}; vitest's test options: ${VITEST_TEST_OPTION_NAMES.join(', ')}`;
  const problems = Object.keys(machineOptions)
    .filter((key) => !MACHINE_OPTION_NAMES.includes(key))
    .map((key) => unknownOptionProblem(key, knownNames, { accepted }));
  if (problems.length > 0) throw new InvalidOptionsError(problems, context);
}

/**
 * Throws {@link InvalidOptionsError} when a test's `timeout` is longer than a timer can wait: vitest's
 * timer would overflow and fail the test after 1 ms.
 */
export function rejectUnusableTimeout(testOptions: VitestTestOptions): void {
  const { timeout } = testOptions;
  if (timeout === undefined || timeout <= MAX_TIMER_MS) return;
  const message = `expected at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a timer can wait), got ${timeout}`;
  throw new InvalidOptionsError([{ option: 'timeout', message }], 'test.vm options');
}
