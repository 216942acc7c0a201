/**
 * Running a child vitest as an ordinary user. As root (as CI runs), a dedicated system user
 * (`vmspawn-test`, with a subordinate id range for user namespaces) is created once and reused;
 * otherwise the child runs as the current user. The child's project lives in a private directory
 * that user owns, with the package and its node_modules linked in when that user can read them
 * where they are (a checkout under /root cannot be read), copied in otherwise.
 */
import { constants } from 'node:fs';
import { access, chown, link, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { REPO } from './inline-vitest.js';

export const TEST_USER = 'vmspawn-test';
/** Its subordinate ids: far above the ranges useradd hands out (100000 up), so they collide with none. */
const TEST_USER_SUBIDS = '1900000000-1900065535';

export interface RunUser {
  name: string;
  uid: number;
  gid: number;
  /** Whether the test switches to this user (it runs as root), or it is the current user. */
  switched: boolean;
}

const isRoot = () => process.getuid?.() === 0;

/** The user the child runs as: the dedicated test user when root (created if missing), else the current one. */
export async function unprivilegedUser(): Promise<RunUser> {
  if (!isRoot()) {
    const me = userInfo();
    return { name: me.username, uid: me.uid, gid: me.gid, switched: false };
  }
  if ((await execa('id', ['-u', TEST_USER], { reject: false })).exitCode !== 0) {
    await execa('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', TEST_USER]);
  }
  for (const [file, option] of [['/etc/subuid', '--add-subuids'], ['/etc/subgid', '--add-subgids']] as const) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (!text.split('\n').some((line) => line.startsWith(`${TEST_USER}:`))) await execa('usermod', [option, TEST_USER_SUBIDS, TEST_USER]);
  }
  const uid = Number((await execa('id', ['-u', TEST_USER])).stdout);
  const gid = Number((await execa('id', ['-g', TEST_USER])).stdout);
  return { name: TEST_USER, uid, gid, switched: true };
}

/** The command line that runs `argv` as `user` with exactly `env`. */
export function asUser(user: RunUser, env: Record<string, string>, argv: string[]): [string, string[]] {
  const environment = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  if (!user.switched) return ['env', ['-i', ...environment, ...argv]];
  return ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', 'env', '-i', ...environment, ...argv]];
}

/** Whether `user` can read `path` (and enter the directories above it). */
async function readableBy(user: RunUser, path: string): Promise<boolean> {
  const [command, args] = asUser(user, { PATH: '/usr/bin:/bin' }, ['test', '-r', path]);
  return (await execa(command, args, { reject: false })).exitCode === 0;
}

export interface UserProject {
  /** The private directory (0700, owned by the user): project files, node_modules, home, runtime dir, cache. */
  dir: string;
  home: string;
  runtimeDir: string;
  cacheDir: string;
  /** How the package got there: linked in place, or copied because the user cannot read it where it is. */
  packageSource: 'linked' | 'copied';
  remove(): Promise<void>;
}

/** The package's files a consumer needs (package.json `files`, and package.json itself). */
const PACKAGE_FILES = ['package.json', 'dist', 'src', 'fixtures'];

/**
 * A private project directory for `user` with `files`, the package as `node_modules/vitest-vmspawn`
 * next to the repository's node_modules, and empty home, runtime and cache directories.
 */
export async function writeUserProject(user: RunUser, files: Record<string, string>): Promise<UserProject> {
  const dir = await mkdtemp(join(tmpdir(), 'vmspawn-non-root-'));
  const home = join(dir, 'home');
  const runtimeDir = join(dir, 'run');
  const cacheDir = join(dir, 'cache');
  const modules = join(dir, 'node_modules');
  for (const sub of [home, runtimeDir, cacheDir, modules]) await mkdir(sub, { mode: 0o700 });
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);

  const repoModules = await realpath(join(REPO, 'node_modules'));
  const readable = (await readableBy(user, join(REPO, 'dist', 'index.js'))) && (await readableBy(user, join(repoModules, 'vitest', 'package.json')));
  if (readable) {
    // Dot entries are caches of the repository's own runs (.vite-temp), except .bin.
    const entries = (await readdir(repoModules)).filter((entry) => !entry.startsWith('.') || entry === '.bin');
    for (const entry of entries) await execa('ln', ['-s', join(repoModules, entry), join(modules, entry)]);
    await execa('ln', ['-s', REPO, join(modules, 'vitest-vmspawn')]);
  } else {
    await execa('cp', ['-a', `${repoModules}/.`, modules]);
    await rm(join(modules, '.vite-temp'), { recursive: true, force: true });
    await mkdir(join(modules, 'vitest-vmspawn'));
    await execa('cp', ['-a', ...PACKAGE_FILES.map((file) => join(REPO, file)), join(modules, 'vitest-vmspawn')]);
  }
  if (user.switched) await execa('chown', ['-R', '--no-dereference', `${user.uid}:${user.gid}`, dir]);
  await chown(dir, user.uid, user.gid).catch(() => undefined);
  return {
    dir, home, runtimeDir, cacheDir, packageSource: readable ? 'linked' : 'copied',
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Puts a built image (a directory of the image cache) into `cacheDir`'s images for the user: hard
 * links where the file system allows them, sparse copies elsewhere. The recipe's files are the
 * same, so the child finds it under the same key and builds nothing. Returns the user's copy.
 */
export async function shareImage(imageDirectory: string, cacheDir: string, user: RunUser): Promise<string> {
  const target = join(cacheDir, 'images', basename(imageDirectory));
  await mkdir(target, { recursive: true });
  for (const file of await readdir(imageDirectory)) {
    await link(join(imageDirectory, file), join(target, file)).catch(() =>
      execa('cp', ['--sparse=always', '--reflink=auto', join(imageDirectory, file), join(target, file)]));
  }
  if (user.switched) await execa('chown', ['-R', `${user.uid}:${user.gid}`, join(cacheDir, 'images')]);
  return target;
}

/** Whether the file at `path` exists and can be read by this process. */
export async function exists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(() => true, () => false);
}
