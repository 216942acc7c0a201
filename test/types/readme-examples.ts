/**
 * Every code example of the README, as a consumer writes it, importing the package by its name.
 * Compiled by test/unit/type-tests.test.ts; a line marked @ts-expect-error must fail to compile.
 */
import { expect, test as base } from 'vitest';
import { defineConfig } from 'vitest/config';
import { describe } from 'vitest';
import { test, useVm, withVm, type VmTestOptions } from 'vitest-vmspawn';
import { defaultImage, Machine } from 'vitest-vmspawn/machine';
import { vmspawn } from 'vitest-vmspawn/plugin';

// The first example.
test.vm('logs reach the host', { ram: '1G', setCredential: { 'app.mode': 'test' } }, async ({ vm }) => {
  await vm.exec(['logger', '-t', 'myapp', 'hello']);
  const entry = await vm.waitForJournal({ identifier: 'myapp' });
  expect(entry.message).toBe('hello');
});

// vitest.config.ts
export const config = defineConfig({
  plugins: [vmspawn({ defaults: { ram: '1G' } })],
});

// test.vm and its modifiers.
test.vm('no options', async ({ vm }) => {
  expect((await vm.exec('true')).exitCode).toBe(0);
});
test.vm.skip('skipped', async ({ vm }) => void vm.name);
test.vm.only.concurrent('only, concurrent', { timeout: 300_000, tags: ['slow'] }, async ({ vm, task }) => void [vm.name, task.name]);
test.vm.skipIf(process.env.CI)('skipIf', async ({ vm }) => void vm.name);
test.vm.runIf(true).fails('runIf', async ({ vm }) => void vm.name);
test.vm.todo('todo');
test.vm('with vitest options', { concurrent: false, retry: 1, repeats: 0, meta: {} }, async ({ vm }) => void vm.name);

// .for: the case and the context.
test.vm.for([['a', 1]] as const)('for %s %i', async ([letter, number], { vm }) => {
  expect((await vm.exec(['echo', `${letter}${number}`])).stdout).toBe('a1');
});
test.vm.for(['x', 'y'])('for %s', { ram: '768M' }, async (name: string, { vm }) => void [name, vm.name]);

// .each: an array case is spread, as with vitest's test.each, without `as const`.
test.vm.each([['a', 'b']])('each %s %s', async (a, b, { vm }) => {
  const joined: string = a + b;
  await vm.exec(['echo', joined]);
});
test.vm.each([
  [2, 3],
  [4, 5],
])('each %i+%i', { ram: '768M' }, async (a, b, { vm }) => {
  const sum: number = a + b;
  expect((await vm.exec(`echo $((${a}+${b}))`)).stdout).toBe(String(sum));
});
test.vm.each([['a', 1]] as const)('each, readonly cases', async (letter, number, { vm }) => {
  const text: 'a' = letter;
  const one: 1 = number;
  await vm.exec(['echo', text, String(one)]);
});
test.vm.each(['one', 'two'])('each %s', async (word, { vm }) => {
  const text: string = word;
  await vm.exec(['echo', text]);
});

// The lazy fixture on the exported `test`.
test('a plain test with the vm fixture', { timeout: 300_000 }, async ({ vm }) => {
  expect((await vm.exec('true')).exitCode).toBe(0);
});

// withVm on a test with fixtures of its own.
const withGreeting = withVm(base.extend('greeting', async () => 'hello fixture'));
withGreeting.vm('own fixture and the vm', async ({ vm, greeting }) => {
  const text: string = greeting;
  await vm.exec(['echo', text]);
});
withGreeting('lazy vm and own fixture', async ({ vm, greeting }) => void [vm.name, greeting.length]);
withGreeting.vm.for([1, 2])('for %i', async (item, { vm, greeting }) => void [item + 1, vm.name, greeting.length]);

// The engine without vitest.
export async function engine(): Promise<void> {
  const image = await defaultImage();
  await using vm = await new Machine({ ...image.initramfs, ram: '1G' }).start();
  console.log((await vm.exec(['uname', '-r'])).stdout);
  console.log(await vm.shutdown());
}

// Directories and shared folders.
export async function directories(): Promise<void> {
  await using vm = await new Machine({
    directory: '/srv/os-tree',
    bind: ['./out:/mnt/out'],
    bindReadOnly: ['/srv/fixtures:/mnt/fixtures'],
  }).start();
  void vm;
}

// Disks and network.
export async function disks(): Promise<void> {
  const { disk } = await defaultImage();
  await using vm = await new Machine({
    ...disk, growImage: '4G', extraDrives: ['data.raw'], network: 'user', portForwards: [8080],
  }).start();
  await vm.exec('sha256sum /dev/disk/by-id/virtio-data.raw');
  await fetch(`http://127.0.0.1:${vm.hostPort(8080)}/`);
}

// Large input goes in after boot.
export async function copyIn(vm: import('vitest-vmspawn').StartedMachine, data: Buffer): Promise<void> {
  await vm.exec(['sh', '-c', 'cat > /srv/data'], { input: data });
}

// A typo in options fails to compile, wherever options are given.
// Shared machines.
describe('image checks', () => {
  test.vm.defaults({ ram: '1G' });
  const shared = useVm({ setCredential: { greeting: 'hi' } });
  shared('os-release names Debian', async ({ vm }) => {
    expect((await vm.exec('cat /etc/os-release')).stdout).toContain('Debian');
  });
  const reused = useVm({}, { reuse: 'worker', reset: async (vm) => void (await vm.exec('rm -rf /tmp/work')) });
  reused.for(['a', 'b'])('case %s', async (name, { vm }) => void [name, vm.name]);
});

// Talking to the guest and waiting.
test.vm('talks to the guest', async ({ vm }) => {
  await vm.copyTo('fixtures/app', '/srv/app');
  await vm.writeFile('/etc/app.conf', 'port=8080\n', { mode: 0o600 });
  await vm.exec('./build.sh', { cwd: '/srv/app', user: 'builder', env: { MODE: 'release build' }, onStdout: (chunk) => process.stdout.write(chunk) });
  await vm.copyFrom('/srv/app/out', 'test-results/out');
  const status: string = await vm.readFile('/srv/app/out/status', 'utf8');
  await using web = await vm.forwardPort(8080);
  const page = await fetch(`http://127.0.0.1:${web.port}/`);
  void [status, page];

  await vm.exec(['systemctl', 'start', '--no-block', 'app.service']);
  await vm.waitForUnit('app');
  await vm.waitForPort(8080);
  await vm.waitForFile('/run/app/ready');
  const { stdout } = await vm.waitUntilSucceeds('curl -sf localhost:8080/health');
  await vm.waitForConsole(/login:/, { since: 'now', timeout: 30_000 });
  void stdout;
});

// Matchers.
test.vm('boots clean', async ({ vm }) => {
  const result = await vm.exec('myapp --check', { reject: false });
  expect(result).toSucceed();
  expect(result).toExitWith(2);
  await expect(vm).toHaveUnitActive('myapp.service');
  await expect(vm).toHaveNoFailedUnits();
  expect(vm.journal).toContainEntry({ unit: 'myapp.service', message: /listening on/ });
  expect(vm.journal).not.toContainEntry({ identifier: 'myapp', priority: 'crit' });
  expect(vm.journal).toHaveNoEntries({ priority: 'err', allow: [{ identifier: 'kernel', message: /MMCONFIG/ }] });
});

// Typos fail to compile.
// @ts-expect-error `rma` is not a machine option
useVm({ rma: '1G' });
// @ts-expect-error `unti` is not a journal match field
test.vm('typo', async ({ vm }) => expect(vm.journal).toContainEntry({ unti: 'ssh.service' }));
// @ts-expect-error `'error'` is not a priority name
test.vm('typo', async ({ vm }) => expect(vm.journal).toHaveNoEntries({ priority: 'error' }));
// @ts-expect-error `rma` is not a machine option
test.vm('typo', { rma: '1G' }, async ({ vm }) => void vm.name);
// @ts-expect-error `timeot` is not a test option
test.vm('typo', { timeot: 1000 }, async ({ vm }) => void vm.name);
// @ts-expect-error `ram` takes a size, not a boolean
test.vm('wrong type', { ram: true }, async ({ vm }) => void vm.name);
// @ts-expect-error `rma` is not a machine option
test.vm.each([[1, 2]])('typo', { rma: '1G' }, async (a, b, { vm }) => void [a, b, vm.name]);
// @ts-expect-error `rma` is not a machine option
test.vm.for([1])('typo', { rma: '1G' }, async (item, { vm }) => void [item, vm.name]);
// @ts-expect-error `rma` is not a machine option
vmspawn({ defaults: { rma: '1G' } });
// @ts-expect-error `preserveArtifact` is not a plugin option
vmspawn({ preserveArtifact: 'always' });
// @ts-expect-error `artifactsDir` is chosen per test by the plugin
vmspawn({ defaults: { artifactsDir: 'out' } });
// @ts-expect-error `rma` is not a machine option
new Machine({ rma: '1G' });
// @ts-expect-error a test.vm context has no fixture the test API does not define
test.vm('unknown fixture', async ({ greeting }) => void greeting);
export const options: VmTestOptions = { ram: '1G', timeout: 1000 };

// Kernel vsock.
test.vm('over kernel vsock', { vsock: 'kernel' }, async ({ vm }) => {
  expect(vm.summary.vsockCid).toBeGreaterThanOrEqual(3);
});
test.vm('a chosen CID', { vsock: 'kernel', vsockCid: 1234 }, async ({ vm }) => void vm.name);
// @ts-expect-error -- not a vsock transport
test.vm('typo', { vsock: 'kernal' }, async ({ vm }) => void vm.name);
// Without vsock.
test.vm('works without vsock', { vsock: false }, async ({ vm }) => {
  await vm.waitForUnit('multi-user.target');
  expect(vm.notify.unavailable).toBe('unavailable: no vsock');
});
// @ts-expect-error `'none'` is the environment variable's word; the option is `false`
test.vm('no such vsock setting', { vsock: 'none' }, async () => undefined);
