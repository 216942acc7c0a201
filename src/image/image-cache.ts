/**
 * The cache the test images share: each image is built by a recipe (a directory under fixtures/ with
 * build.sh), on first use, into a directory named after a hash of the recipe's files, so a changed
 * recipe means a new build. Concurrent callers (vitest workers) share one build through a lock file.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { VmspawnError } from '../errors.js';
import { isProcessAlive } from '../host/process-status.js';

export interface ImageRecipe {
  /** Directory of the recipe under fixtures/, e.g. 'default-image'. */
  recipe: string;
  /** Prefix of the cache directory's name; the recipe key follows it. */
  cacheName: string;
  /** How progress and errors name the image, e.g. 'the default image'. */
  title: string;
  /** What the first progress line says is built, e.g. 'Debian trixie'. */
  description: string;
}

export interface ImageCacheOptions {
  /** Receives each progress line of a build. @default writes to stderr */
  onProgress?: (line: string) => void;
  /** Cache root. @default $VMSPAWN_CACHE_DIR, else $XDG_CACHE_HOME/vitest-vmspawn, else ~/.cache/vitest-vmspawn */
  cacheDir?: string;
}

const LOCK_STALE_CHECK_MS = 1_000;
/** A recipe's exit status when it runs without root and the host cannot give it a user namespace. */
const HOST_LACKS_USER_NAMESPACE_EXIT = 3;
/** fixtures/lib: shell functions the recipes source. */
const SHARED_RECIPE_LIBRARY = 'lib';

export function recipeDir(recipe: string): string {
  return fileURLToPath(new URL(`../../fixtures/${recipe}/`, import.meta.url));
}

/** Returns the directory of a complete build of the recipe, building it first if the cache has none. */
export async function cachedImageDirectory(recipe: ImageRecipe, options: ImageCacheOptions = {}): Promise<string> {
  const key = await recipeKeyOf(recipe.recipe);
  const imagesDir = join(options.cacheDir ?? cacheRoot(), 'images');
  const directory = join(imagesDir, `${recipe.cacheName}-${key}`);
  if (!existsSync(join(directory, 'manifest.json'))) {
    await mkdir(imagesDir, { recursive: true });
    await withLock(`${directory}.lock`, async () => {
      if (!existsSync(join(directory, 'manifest.json'))) {
        await build(recipe, directory, options.onProgress ?? ((line) => process.stderr.write(`vitest-vmspawn: image: ${line}\n`)));
      }
    });
  }
  return directory;
}

/** Hash of every file of the recipe and of the shell library the recipes share: a change to any of them means a new image. */
export async function recipeKeyOf(recipe: string): Promise<string> {
  const hash = createHash('sha256');
  for (const dir of [recipeDir(recipe), recipeDir(SHARED_RECIPE_LIBRARY)]) {
    for (const file of (await readdir(dir)).sort()) {
      hash.update(file).update('\0').update(await readFile(join(dir, file))).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

export function cacheRoot(): string {
  if (process.env.VMSPAWN_CACHE_DIR) return process.env.VMSPAWN_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vitest-vmspawn');
}

/** The manifest.json a recipe wrote. */
export async function readManifest<T>(directory: string): Promise<T> {
  return JSON.parse(await readFile(join(directory, 'manifest.json'), 'utf8')) as T;
}

async function build(recipe: ImageRecipe, directory: string, onProgress: (line: string) => void): Promise<void> {
  const script = join(recipeDir(recipe.recipe), 'build.sh');
  // Without root the recipe runs itself in a user namespace (fixtures/lib/debian-root.sh, as_root),
  // and says what the host lacks for that.
  onProgress(`building ${recipe.title} (${recipe.description}) into ${directory}; this takes a minute or so`);
  const child = execa('bash', [script, directory], { all: true, reject: false, lines: false, stdin: 'ignore' });
  let output = '';
  child.all?.setEncoding('utf8');
  // Lines before the recipe's first stage line (`[  0.0s] …`) are held back: when the host cannot
  // build, they are the error's own text, which should not also appear as progress.
  let started = false;
  child.all?.on('data', (chunk: string) => {
    output += chunk;
    for (const line of chunk.split('\n')) {
      started ||= /^\[\s*[\d.]+s\]/.test(line);
      if (started && line.trim()) onProgress(line.trimEnd());
    }
  });
  const result = await child;
  if (result.exitCode === HOST_LACKS_USER_NAMESPACE_EXIT) {
    const capitalized = recipe.title.charAt(0).toUpperCase() + recipe.title.slice(1);
    throw new VmspawnError(`${capitalized} is not built yet, and ${output.trim().replace(/^\S+: /, '')}`);
  }
  if (result.exitCode !== 0) {
    throw new VmspawnError(`Building ${recipe.title} failed (exit ${result.exitCode}):\n${output.split('\n').slice(-25).join('\n')}`);
  }
}

/** Runs `task` holding an exclusive lock file; a lock whose owner died is taken over. */
async function withLock<T>(path: string, task: () => Promise<T>): Promise<T> {
  while (true) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(path, 'utf8').catch(() => '0'));
      if (owner > 0 && !isProcessAlive(owner)) await rm(path, { force: true });
      else await sleep(LOCK_STALE_CHECK_MS);
    }
  }
  try {
    return await task();
  } finally {
    await rm(path, { force: true });
  }
}
