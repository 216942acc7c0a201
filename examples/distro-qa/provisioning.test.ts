import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { useVm } from 'vitest-vmspawn';

// Provisioning through systemd credentials, as a distribution's first boot would get it: a user
// (sysusers.d), its home (tmpfiles.d) and a service that runs as that user, none of them in the image.
const statusPage = [
  '[Unit]',
  'Description=Status page of the app user',
  '[Service]',
  'User=app',
  // One program per connection, with the connection as its stdin and stdout; the test installs it.
  'ExecStart=/usr/bin/systemd-socket-activate --listen=127.0.0.1:8080 --accept --inetd /usr/local/bin/status-page',
].join('\n');

// The application under test: answers an HTTP request with who serves it.
const statusPageProgram = [
  '#!/bin/bash',
  'read -r method path version',
  "while IFS= read -r line && [ -n \"${line%$'\\r'}\" ]; do :; done   # the request's headers",
  'body="served by $(id -un) on $(hostname)"',
  "printf 'HTTP/1.0 200 OK\\r\\nContent-Length: %s\\r\\n\\r\\n%s' \"${#body}\" \"$body\"",
  '',
].join('\n');

const test = useVm({
  setCredential: {
    'sysusers.extra': 'u app - "Application user" /home/app /bin/bash\n',
    'tmpfiles.extra': 'd /home/app 0750 app app -\n',
    'systemd.extra-unit.status-page.service': statusPage,
  },
});

test('the user exists and commands run as it', async ({ vm }) => {
  const id = await vm.exec(['id', '-un'], { user: 'app' });
  expect(id.stdout).toBe('app');
  const home = await vm.exec(['stat', '-c', '%U %a', '/home/app']);
  expect(home.stdout).toBe('app 750');
});

test('files go in, are processed as the user, and come back', async ({ vm }) => {
  const local = await mkdtemp(join(tmpdir(), 'distro-qa-'));
  onTestFinished(() => rm(local, { recursive: true, force: true }));
  await writeFile(join(local, 'orders.csv'), 'id,amount\n1,20\n2,22\n');
  await vm.copyTo(join(local, 'orders.csv'), '/home/app/orders.csv');
  await vm.exec('chown app: /home/app/orders.csv');

  await vm.exec(`awk -F, 'NR > 1 { total += $2 } END { print total }' orders.csv > total.txt`, { user: 'app', cwd: '/home/app' });

  await vm.copyFrom('/home/app/total.txt', join(local, 'total.txt'));
  expect(await readFile(join(local, 'total.txt'), 'utf8')).toBe('42\n');
  expect((await vm.exec(['stat', '-c', '%U', '/home/app/total.txt'])).stdout).toBe('app');
});

test('the service answers a host-side client through a forwarded port', async ({ vm }) => {
  await vm.writeFile('/usr/local/bin/status-page', statusPageProgram, { mode: 0o755 });
  await vm.exec('systemctl start status-page.service');
  await vm.waitForPort(8080);
  const web = await vm.forwardPort(8080); // through the SSH connection: no guest network needed
  try {
    const response = await fetch(`http://127.0.0.1:${web.port}/`);
    expect(await response.text()).toBe(`served by app on ${vm.name}`);
  } finally {
    await web.close();
  }
});
