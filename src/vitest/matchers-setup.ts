/**
 * A setup file the plugin adds to every test file: registers the matchers of vitest-vmspawn, and
 * tells the engine that the run's host decisions were printed once already (by the global setup),
 * so machines a test starts itself (`new Machine(…).start()`) leave them out of this worker's output.
 */
import { expect } from 'vitest';
import { vmspawnMatchers } from '../matchers/index.js';
import { leaveOutRunAnnouncements } from './machine-of-test.js';

expect.extend(vmspawnMatchers);
leaveOutRunAnnouncements();
