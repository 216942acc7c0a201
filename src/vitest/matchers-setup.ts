/** A setup file the plugin adds to every test file: registers the matchers of vitest-vmspawn. */
import { expect } from 'vitest';
import { vmspawnMatchers } from '../matchers/index.js';

expect.extend(vmspawnMatchers);
