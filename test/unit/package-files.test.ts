/**
 * What the published package holds: stack frames from the built code (dist/) map to sources the
 * package ships, so a user's failing test points at a file they have. Needs `tsc -p tsconfig.json`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');

async function packedFiles(): Promise<string[]> {
  const { stdout } = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO });
  return (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((file) => file.path);
}

test('a stack frame from dist resolves to a source file the package ships', async () => {
  const script = "import('./dist/machine-api.js').then((m) => new m.Machine({ ram: 'lots' })).catch((error) => console.log(error.stack))";
  const { stdout } = await execa('node', ['--enable-source-maps', '-e', script], { cwd: REPO });
  const frames = [...stdout.matchAll(/\((\/[^():]+\.ts):(\d+):\d+\)/g)].map(([, file, line]) => ({ file: file!, line: Number(line) }));
  expect(frames.length, stdout).toBeGreaterThan(0);
  const shipped = await packedFiles();
  for (const frame of frames) {
    expect(shipped, frame.file).toContain(relative(REPO, frame.file));
    const source = (await readFile(frame.file, 'utf8')).split('\n');
    expect(source.length).toBeGreaterThanOrEqual(frame.line);
  }
  expect(shipped).not.toContain('dist/.tsbuildinfo');
}, 30_000);

test('source maps carry their sources, so frames resolve without src/ too', async () => {
  const maps = (await readdir(join(REPO, 'dist'), { recursive: true })).filter((file) => file.endsWith('.js.map'));
  expect(maps.length).toBeGreaterThan(10);
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(await readFile(join(REPO, 'dist', map), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
    expect(sourcesContent?.length, map).toBe(sources.length);
  }
});
