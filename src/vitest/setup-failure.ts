/**
 * A global setup that cannot prepare the run (the default image cannot be built) fails it with its
 * error as the one headline. Thrown as it is, vitest 4 first prints "No test files found" (its
 * reporter sees a run without files and without errors) and then the error.
 */
import type { TestProject } from 'vitest/node';
import * as vitestNode from 'vitest/node';

type NotFoundError = new (mode: string) => Error;

/**
 * Records `error` as the run's error, which the reporter prints and which fails the run, and ends the
 * run before any file with the one error vitest's command line ends a run on without printing it
 * again. Where vitest lacks either (the state API is experimental), `error` is thrown as it is.
 */
export function failRunInSetup(project: TestProject, error: unknown): never {
  const TestsNotFound = (vitestNode as { TestsNotFoundError?: NotFoundError }).TestsNotFoundError;
  const state = (project.vitest as { state?: { catchError?: (error: unknown, type: string) => void } }).state;
  if (!TestsNotFound || typeof state?.catchError !== 'function') throw error;
  state.catchError(error, 'Unhandled Error');
  throw new TestsNotFound(project.vitest.mode);
}
