/**
 * Extra drives, a grown root disk and user-mode networking, on one boot of the disk flavour: the
 * guest finds each drive by its serial, writes reach only what the options allow, the root disk is
 * bigger while the image file stays the same, and an HTTP server in the guest answers the host
 * through a forwarded port (and the guest reaches the host).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { image, useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-disks-net-');
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Hash of the first 64 MiB (where mounting and writing ext4 leaves its marks), size and mtime. */
async function fingerprint(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: 64 * MiB - 1 })) hash.update(chunk as Buffer);
  const { size, mtimeMs } = await stat(path);
  return `${hash.digest('hex')} ${size} ${mtimeMs}`;
}

/** The body of a GET from the host. */
function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

// Reads the request head, then answers with the guest's hostname. Run per connection by a
// socket-activated unit that the test defines with credentials.
const HTTP_SCRIPT = `while IFS= read -r line; do [ "\${#line}" -le 1 ] && break; done
body="hello from $(hostname)"
printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %s\\r\\nConnection: close\\r\\n\\r\\n%s' "\${#body}" "$body"
`;

describe('extra drives, growImage and user-mode networking', () => {
  let vm: StartedMachine;
  let rootImage: string;
  let rootBefore: string;
  const drive = { data: randomBytes(MiB), readOnly: randomBytes(64 * 1024), writable: randomBytes(64 * 1024) };
  const paths = { data: '', readOnly: '', writable: '' };
  const hostServer = createServer((_request, response) => response.end('hello from the host'));

  beforeAll(async () => {
    const { disk } = await image();
    rootImage = disk.image!;
    rootBefore = await fingerprint(rootImage);
    paths.data = join(workDir(), 'data.raw');
    paths.readOnly = join(workDir(), 'read-only.raw');
    paths.writable = join(workDir(), 'writable-drive-with-a-long-name.raw');
    await writeFile(paths.data, drive.data);
    await writeFile(paths.readOnly, drive.readOnly);
    await writeFile(paths.writable, drive.writable);
    await new Promise<void>((resolve) => hostServer.listen(0, '127.0.0.1', resolve));

    vm = await new Machine({
      ...disk,
      name: 'disks-net',
      artifactsDir: join(workDir(), 'artifacts'),
      growImage: '3G',
      extraDrives: [paths.data, { path: paths.readOnly, readOnly: true }, { path: paths.writable, ephemeral: false, serial: 'writable' }],
      network: 'user',
      portForwards: [8080],
      setCredential: {
        'http-test.sh': HTTP_SCRIPT,
        'systemd.extra-unit.http-test.socket': '[Socket]\nListenStream=8080\nAccept=yes\n',
        'systemd.extra-unit.http-test@.service': '[Service]\nExecStart=/bin/sh /run/credentials/@system/http-test.sh\nStandardInput=socket\n',
        'systemd.unit-dropin.sockets.target~http-test': '[Unit]\nWants=http-test.socket\n',
      },
    }).start();
  });

  afterAll(async () => {
    await vm?.stop();
    hostServer.close();
  });

  test('each extra drive is a virtio disk after the root disk, found by its serial', async () => {
    const { stdout } = await vm.exec(
      'udevadm settle; for serial in data.raw read-only.raw writable; do readlink -f /dev/disk/by-id/virtio-$serial; done',
    );
    expect(stdout.split('\n')).toEqual(['/dev/vdb', '/dev/vdc', '/dev/vdd']);
  });

  test('the guest reads what the host wrote, and its writes to a throwaway drive stay in the guest', async () => {
    const device = '/dev/disk/by-id/virtio-data.raw';
    const read = await vm.exec(`head -c ${MiB} ${device} | sha256sum`);
    expect(read.stdout.split(' ')[0]).toBe(sha256(drive.data));

    const written = await vm.exec(`printf 'written by the guest' | dd of=${device} conv=fsync status=none && head -c 20 ${device}`);
    expect(written.stdout).toBe('written by the guest');
    expect(sha256(await readFile(paths.data))).toBe(sha256(drive.data));
  });

  test('a read-only drive takes no writes; a drive with ephemeral: false takes them into the file', async () => {
    const readOnly = await vm.exec('cat /sys/block/vdc/ro; printf x | dd of=/dev/vdc status=none', { reject: false });
    expect(readOnly.stdout).toBe('1');
    expect(readOnly.exitCode).not.toBe(0);
    expect(sha256(await readFile(paths.readOnly))).toBe(sha256(drive.readOnly));

    await vm.exec("printf 'kept on the host' | dd of=/dev/disk/by-id/virtio-writable conv=fsync status=none");
    const file = await readFile(paths.writable);
    expect(file.subarray(0, 16).toString()).toBe('kept on the host');
    expect(sha256(file.subarray(16))).toBe(sha256(drive.writable.subarray(16)));
  });

  test('the guest sees the grown root disk; the image file is unchanged', async () => {
    const { stdout } = await vm.exec('cat /sys/block/vda/size');
    expect(Number(stdout) * 512).toBe(3 * GiB);
    expect((await stat(rootImage)).size).toBe(2 * GiB);
  });

  test('a guest port forwarded to the host answers HTTP, and the guest reaches the host', async () => {
    const port = vm.hostPort(8080);
    expect(vm.forwardedPorts).toEqual([{ guest: 8080, host: port, hostAddress: '127.0.0.1' }]);
    expect(port).toBeGreaterThan(0);
    expect(() => vm.hostPort(9)).toThrow("guest port 9 is not forwarded (forwarded: 8080); add it to portForwards, with network: 'user'");
    // start() resolved after systemd-networkd-wait-online: the address is configured, no retry needed.
    expect(await httpGet(port)).toBe('hello from disks-net');

    const hostPort = (hostServer.address() as AddressInfo).port;
    const fromGuest = await vm.exec(`exec 3<>/dev/tcp/10.0.2.2/${hostPort}; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3`, {
      timeout: 30_000,
    });
    expect(fromGuest.stdout).toMatch(/\r\n\r\nhello from the host$/);
  });

  test('after the machine stopped, the root image is as before', async () => {
    await vm.stop();
    expect(await fingerprint(rootImage)).toBe(rootBefore);
  });
});
