/**
 * A global setup that cannot prepare the run (the default image cannot be built) fails it with its
 * error as the one headline. Thrown as it is, vitest would first print "No test files found"
 * (its reporter sees a run without files and without errors) and then the error.
 */
import { TestsNotFoundError, type TestProject } from 'vitest/node';

/** Records `error` as the run's error, which the reporter prints and which fails the run, and ends the run before any file. */
export function failRunInSetup(project: TestProject, error: unknown): never {
  project.vitest.state.catchError(error, 'Unhandled Error');
  // The one error vitest's command line ends a run on without printing it again.
  throw new TestsNotFoundError(project.vitest.mode);
}
