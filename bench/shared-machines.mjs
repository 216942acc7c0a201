// The examples that share one machine per file (useVm), run as they are and rewritten to boot one
// machine per test, side by side in one run: the wall time of each vitest run and their ratio.
//   node bench/shared-machines.mjs       (after `npm run build`)
// Prints the figures; compare ratios within one run, not absolute numbers across machines.
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = ['journal-assertions', 'image-validation', 'distro-qa'];
const WORK = join(ROOT, '.scratch', 'bench-shared-machines');

// useVm(options) rewritten as a test function that boots a machine per test with the same options.
const PER_TEST_SHIM = `import { test } from 'vitest-vmspawn';
export function perTestVm(options = {}) {
  const perTest = (name, fn) => test.vm(name, options, fn);
  perTest.for = (cases) => (name, fn) => test.vm.for(cases)(name, options, fn);
  return perTest;
}
`;

const CONFIG = `import { defineConfig } from 'vitest/config';
import { vmspawn } from 'vitest-vmspawn/plugin';
export default defineConfig({
  plugins: [vmspawn({ defaults: { ram: '1G' }, artifactsDir: 'test-results/bench-shared-machines', bootProgress: false })],
  test: { include: ['**/*.test.ts'] },
});
`;

async function prepare() {
  await rm(WORK, { recursive: true, force: true });
  for (const variant of ['shared', 'per-test']) {
    for (const example of EXAMPLES) await cp(join(ROOT, 'examples', example), join(WORK, variant, example), { recursive: true });
  }
  await writeFile(join(WORK, 'vitest.config.ts'), CONFIG);
  await writeFile(join(WORK, 'per-test', 'per-test-vm.js'), PER_TEST_SHIM);
  let rewritten = 0;
  for (const example of EXAMPLES) {
    const directory = join(WORK, 'per-test', example);
    for (const name of (await readdir(directory)).filter((file) => file.endsWith('.test.ts'))) {
      const file = join(directory, name);
      const source = await readFile(file, 'utf8');
      const perTest = `import { perTestVm } from '../per-test-vm.js';\n${source.replaceAll('useVm(', 'perTestVm(')}`;
      rewritten += source.split('useVm(').length - 1;
      await writeFile(file, perTest);
    }
  }
  if (rewritten !== EXAMPLES.length) throw new Error(`expected one useVm per example, rewrote ${rewritten}`);
}

async function timeRun(variant) {
  const started = performance.now();
  const result = await execa('node_modules/.bin/vitest', ['run', '--config', join(WORK, 'vitest.config.ts'), '--root', WORK, variant], {
    cwd: ROOT,
    reject: false,
    all: true,
    env: { CI: 'true' },
  });
  const seconds = (performance.now() - started) / 1000;
  const tests = /Tests\s+(.*)/.exec(result.all.replace(/\x1b\[[0-9;]*m/g, ''))?.[1]?.trim() ?? '?';
  if (result.exitCode !== 0) throw new Error(`${variant} run failed:\n${result.all.slice(-3000)}`);
  return { seconds, tests };
}

await prepare();
console.log(`examples: ${EXAMPLES.join(', ')} (copies in ${relative(ROOT, WORK)})`);
const shared = await timeRun('shared');
console.log(`one machine per file (useVm): ${shared.seconds.toFixed(1)} s  [${shared.tests}]`);
const perTest = await timeRun('per-test');
console.log(`one machine per test (test.vm): ${perTest.seconds.toFixed(1)} s  [${perTest.tests}]`);
console.log(`per test / shared: ${(perTest.seconds / shared.seconds).toFixed(2)}`);
await rm(WORK, { recursive: true, force: true });
