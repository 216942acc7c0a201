#!/usr/bin/env node
// The command line: `npx vitest-vmspawn --help`. The logic is in src/cli (built to dist/cli).
import { main } from '../dist/cli/main.js';

const controller = new AbortController();
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    // The first signal asks the command to stop what it started; a third one gives up waiting.
    if (++signals >= 3) process.exit(130);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}

const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), signal: controller.signal };
process.exitCode = await main(process.argv.slice(2), io);
