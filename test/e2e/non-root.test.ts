/**
 * An ordinary user runs VM tests: a child vitest as an unprivileged user (created when this runs as
 * root, as in CI) boots a directory tree over virtiofs with a writable and a read-only shared folder
 * (every virtiofsd in a user namespace), with QEMU, vhost-device-vsock and swtpm as that user. One
 * boot proves exec, the shares, the journal artifact owned by the user, and that nothing keeps
 * running or stays in the runtime directory. The image is the root-built one, shared through the
 * child's cache; building it without root is the opt-in test below (VMSPAWN_TEST_NON_ROOT_BUILD=1),
 * as it would add its build time to every run.
 */
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { IMAGE_BUILD_TIMEOUT, image } from './helpers.js';
import { statuses } from './inline-vitest.js';
import { asUser, exists, shareImage, unprivilegedUser, writeUserProject, type RunUser, type UserProject } from './unprivileged-run.js';

const CONFIG = `
import { defineConfig } from 'vitest/config';
import { vmspawn } from 'vitest-vmspawn/plugin';
export default defineConfig({
  plugins: [vmspawn({ artifactsDir: 'artifacts', preserveArtifacts: 'always' })],
  test: { include: ['*.test.ts'] },
});
`;

/** Runs the project's vitest as the user, with only the environment a login would give it. */
async function runAsUser(user: RunUser, project: UserProject, env: Record<string, string> = {}) {
  const [command, args] = asUser(user, {
    PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: project.home,
    XDG_RUNTIME_DIR: project.runtimeDir,
    VMSPAWN_CACHE_DIR: project.cacheDir,
    CI: 'true',
    ...env,
  }, [
    join(project.dir, 'node_modules/.bin/vitest'), 'run', '--root', project.dir,
    '--reporter=default', '--reporter=json', `--outputFile.json=${join(project.dir, 'report.json')}`,
  ]);
  return execa(command, args, { cwd: project.dir, reject: false, all: true });
}

/** Files under `dir`, recursively, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String);
}

/** After the run: no process of the user (when it is a user of its own), and nothing in its runtime directory. */
async function expectNothingLeft(user: RunUser, project: UserProject): Promise<void> {
  if (user.switched) expect((await execa('pgrep', ['-u', String(user.uid), '-a'], { reject: false })).stdout).toBe('');
  const root = join(project.runtimeDir, `vitest-vmspawn-${user.uid}`);
  expect(await readdir(root).catch(() => [])).toEqual([]);
}

test('an unprivileged user boots a tree over virtiofs with shared folders; exec, journal artifact, no leftovers', async () => {
  const user = await unprivilegedUser();
  const { directory: imageDirectory } = await image();
  const project = await writeUserProject(user, { 'package.json': '{ "type": "module" }\n', 'vitest.config.ts': CONFIG });
  try {
    const shared = await shareImage(imageDirectory, project.cacheDir, user);
    const paths = { tree: join(project.dir, 'tree'), out: join(project.dir, 'out'), input: join(project.dir, 'in') };
    for (const path of Object.values(paths)) await mkdir(path);
    await writeFile(join(paths.input, 'greeting'), 'hello from the host\n');
    if (user.switched) await execa('chown', ['-R', `${user.uid}:${user.gid}`, ...Object.values(paths)]);
    // The tree, unpacked by the user: all of it is the user's, which the guest sees as root's.
    const [command, args] = asUser(user, { PATH: '/usr/bin:/bin' }, ['sh', '-c', 'zstd -dc "$1" | (cd "$2" && cpio -idm --quiet)', 'unpack', join(shared, 'rootfs.cpio.zst'), paths.tree]);
    await execa(command, args);
    const testFile = `
import { expect } from 'vitest';
import { test } from 'vitest-vmspawn';
const options = ${JSON.stringify({ directory: paths.tree, linux: join(shared, 'vmlinuz'), bind: [`${paths.out}:/mnt/out`], bindReadOnly: [`${paths.input}:/mnt/in`] })};
test.vm('tree', options, async ({ vm }) => {
  expect((await vm.exec('id -u')).stdout).toBe('0');
  const mounts = (await vm.readFile('/proc/mounts', 'utf8')).split('\\n');
  expect(mounts.find((line) => line.startsWith('root / '))).toMatch(/^root \\/ virtiofs rw/);
  await vm.exec('echo guest > /etc/written-by-guest && echo from the guest > /mnt/out/from-guest');
  expect((await vm.exec('cat /mnt/in/greeting')).stdout).toBe('hello from the host');
  const write = await vm.exec('touch /mnt/in/refused', { reject: false });
  expect(write.stderr).toContain('Read-only file system');
});
`;
    await writeFile(join(project.dir, 'tree.test.ts'), testFile);
    if (user.switched) await execa('chown', [`${user.uid}:${user.gid}`, join(project.dir, 'tree.test.ts')]);

    const run = await runAsUser(user, project);
    const results = await statuses(project.dir).catch(() => ({}));
    expect(results, run.all).toEqual({ tree: { status: 'passed', failure: '' } });
    expect(run.all).not.toContain('building the default image'); // the shared root-built image was used

    // The writable share wrote as the user; the ephemeral tree was not written.
    const written = join(paths.out, 'from-guest');
    expect(await readFile(written, 'utf8')).toBe('from the guest\n');
    expect((await lstat(written)).uid).toBe(user.uid);
    expect(await exists(join(paths.tree, 'etc/written-by-guest'))).toBe(false);
    expect(await exists(join(paths.input, 'refused'))).toBe(false);
    // The journal artifact, written by the user's run.
    const artifacts = join(project.dir, 'artifacts');
    const journal = (await filesUnder(artifacts)).find((file) => file.endsWith('journal.journal'));
    expect(journal, `artifacts: ${(await filesUnder(artifacts)).join(', ')}`).toBeDefined();
    const journalFile = await lstat(join(artifacts, journal!));
    expect(journalFile.uid).toBe(user.uid);
    expect(journalFile.size).toBeGreaterThan(0);
    await expectNothingLeft(user, project);
  } finally {
    await project.remove();
  }
}, 600_000);

test.runIf(process.env.VMSPAWN_TEST_NON_ROOT_BUILD === '1')('an unprivileged user builds the default image and boots it', async () => {
  const user = await unprivilegedUser();
  const project = await writeUserProject(user, {
    'package.json': '{ "type": "module" }\n',
    'vitest.config.ts': CONFIG,
    'boot.test.ts': `
import { expect } from 'vitest';
import { test } from 'vitest-vmspawn';
test.vm('boot', async ({ vm }) => {
  expect((await vm.exec('cat /etc/os-release')).stdout).toContain('Debian');
});
`,
  });
  try {
    const run = await runAsUser(user, project);
    expect(await statuses(project.dir).catch(() => ({})), run.all).toEqual({ boot: { status: 'passed', failure: '' } });
    expect(run.all).toContain('building the default image');
    const [built] = await readdir(join(project.cacheDir, 'images'));
    const manifest = JSON.parse(await readFile(join(project.cacheDir, 'images', built!, 'manifest.json'), 'utf8')) as { buildSeconds: number };
    process.stderr.write(`non-root build of the default image: ${manifest.buildSeconds} s\n`);
    expect((await lstat(join(project.cacheDir, 'images', built!, 'rootfs.cpio.zst'))).uid).toBe(user.uid);
    await expectNothingLeft(user, project);
  } finally {
    // The build ran in a user namespace; what a killed build left behind is owned by subordinate ids.
    await project.remove();
  }
}, IMAGE_BUILD_TIMEOUT);
