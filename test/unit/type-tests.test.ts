/**
 * The README's examples compile in a consumer's project (test/types), against the built package
 * imported by its name, and the typos marked there with @ts-expect-error do not.
 */
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');

test('the README examples type-check in a consumer project', async () => {
  const result = await execa(join(REPO, 'node_modules/.bin/tsc'), ['-p', join(REPO, 'test/types/tsconfig.json')], { reject: false, all: true });
  expect(result.all, 'tsc -p test/types/tsconfig.json').toBe('');
  expect(result.exitCode).toBe(0);
}, 60_000);
