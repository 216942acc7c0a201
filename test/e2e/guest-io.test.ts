/**
 * Talking to the guest, on one boot of the default image: files and directory trees both ways over
 * SFTP (checksums, modes, links, errors), exec's env, cwd, user and streamed output, and a host
 * port forwarded to a guest service through the SSH connection.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExecAbortedError, ExecError } from '../../src/errors.js';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { GuestFileError } from '../../src/ssh/sftp-transfer.js';
import { CORE_BOOT_TIMEOUT, image, useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-guest-io-');
const MACHINE = 'e2e-guest-io';
const BIG_FILE_BYTES = 32 * 1024 * 1024;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Whether a TCP connection to 127.0.0.1:`port` is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('talking to the guest', () => {
  let vm: StartedMachine;

  beforeAll(async () => {
    const { initramfs } = await image();
    vm = await new Machine({ ...initramfs, name: MACHINE, artifactsDir: join(workDir(), 'artifacts'), bootTimeout: CORE_BOOT_TIMEOUT }).start();
  });

  afterAll(async () => {
    await vm?.stop();
  });

  test('a 32 MiB file arrives complete both ways', async () => {
    const upload = randomBytes(BIG_FILE_BYTES);
    const hostUpload = join(workDir(), 'upload.bin');
    await writeFile(hostUpload, upload, { mode: 0o640 });
    let started = performance.now();
    await vm.copyTo(hostUpload, '/root/upload.bin');
    const uploadMs = performance.now() - started;
    const guestSum = await vm.exec("sha256sum /root/upload.bin | cut -d' ' -f1; stat -c %a:%s /root/upload.bin");
    expect(guestSum.stdout).toBe(`${sha256(upload)}\n640:${BIG_FILE_BYTES}`);

    await vm.exec(`head -c ${BIG_FILE_BYTES} /dev/urandom > /root/download.bin && chmod 604 /root/download.bin`);
    const { stdout: guestDownloadSum } = await vm.exec("sha256sum /root/download.bin | cut -d' ' -f1");
    const hostDownload = join(workDir(), 'download.bin');
    started = performance.now();
    await vm.copyFrom('/root/download.bin', hostDownload);
    const downloadMs = performance.now() - started;
    const downloaded = await readFile(hostDownload);
    expect(downloaded.length).toBe(BIG_FILE_BYTES);
    expect(sha256(downloaded)).toBe(guestDownloadSum);
    expect((await lstat(hostDownload)).mode & 0o7777).toBe(0o604);
    console.log(`guest-io: 32 MiB copyTo ${Math.round(uploadMs)} ms, copyFrom ${Math.round(downloadMs)} ms`);
  });

  test('directory trees go both ways with modes, links and empty directories', async () => {
    const tree = join(workDir(), 'tree');
    await mkdir(join(tree, 'sub', 'empty'), { recursive: true });
    await writeFile(join(tree, 'notes.txt'), 'plain notes\n', { mode: 0o640 });
    await writeFile(join(tree, 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
    await writeFile(join(tree, 'sub', 'secret'), 'only root\n', { mode: 0o600 });
    await symlink('../notes.txt', join(tree, 'sub', 'link-to-notes'));
    await symlink('/etc/hostname', join(tree, 'absolute-link'));
    await chmod(join(tree, 'sub'), 0o750);
    await chmod(join(tree, 'sub', 'empty'), 0o711);

    await vm.copyTo(tree, '/srv/tree');
    const { stdout: listing } = await vm.exec("cd /srv/tree && find . -mindepth 1 -printf '%P %m %y %l\\n' | sort");
    expect(listing).toBe(
      [
        'absolute-link 777 l /etc/hostname',
        'notes.txt 640 f ',
        'run.sh 755 f ',
        'sub 750 d ',
        'sub/empty 711 d ',
        'sub/link-to-notes 777 l ../notes.txt',
        'sub/secret 600 f ',
      ].join('\n'),
    );
    expect((await vm.exec('/srv/tree/run.sh; cat /srv/tree/sub/link-to-notes')).stdout).toBe('ran\nplain notes');

    // The guest adds a file; the whole tree comes back as the guest has it.
    await vm.exec("printf 'from the guest' > /srv/tree/sub/added && chmod 664 /srv/tree/sub/added");
    const back = join(workDir(), 'tree-back');
    await vm.copyFrom('/srv/tree', back);
    const mode = async (path: string) => (await lstat(join(back, path))).mode & 0o7777;
    expect(await mode('notes.txt')).toBe(0o640);
    expect(await mode('run.sh')).toBe(0o755);
    expect(await mode('sub')).toBe(0o750);
    expect(await mode('sub/empty')).toBe(0o711);
    expect(await mode('sub/secret')).toBe(0o600);
    expect(await mode('sub/added')).toBe(0o664);
    expect(await readFile(join(back, 'sub', 'added'), 'utf8')).toBe('from the guest');
    expect(await readFile(join(back, 'sub', 'secret'), 'utf8')).toBe('only root\n');
    expect(await readlink(join(back, 'sub', 'link-to-notes'))).toBe('../notes.txt');
    expect(await readlink(join(back, 'absolute-link'))).toBe('/etc/hostname');
  });

  test('readFile and writeFile hold text and bytes; missing paths are named with the machine', async () => {
    await vm.writeFile('/root/hello.txt', 'grüße\nzwei Zeilen\n');
    expect(await vm.readFile('/root/hello.txt', 'utf8')).toBe('grüße\nzwei Zeilen\n');
    const bytes = randomBytes(100_000);
    await vm.writeFile('/usr/local/bin/tool', bytes, { mode: 0o750 });
    expect((await vm.exec("stat -c %a /usr/local/bin/tool; sha256sum /usr/local/bin/tool | cut -d' ' -f1")).stdout).toBe(`750\n${sha256(bytes)}`);
    expect(sha256(await vm.readFile('/usr/local/bin/tool'))).toBe(sha256(bytes));
    // A file the kernel reports with size 0 is read to its end.
    expect(await vm.readFile('/proc/sys/kernel/hostname', 'utf8')).toBe(`${MACHINE}\n`);

    const missing = vm.readFile('/no/such/file');
    await expect(missing).rejects.toBeInstanceOf(GuestFileError);
    await expect(missing).rejects.toThrow(`readFile: /no/such/file does not exist in machine "${MACHINE}"`);
    await expect(vm.copyFrom('/no/such/dir', join(workDir(), 'x'))).rejects.toThrow(`copyFrom: /no/such/dir does not exist in machine "${MACHINE}"`);
    await expect(vm.writeFile('/no/such/dir/file', 'x')).rejects.toThrow(/its directory \/no\/such\/dir does not exist; create it first/);
    await expect(vm.copyTo(join(workDir(), 'not-there'), '/root/x')).rejects.toThrow(/not-there does not exist on the host/);
    await expect(vm.readFile('/root', 'utf8')).rejects.toThrow(`readFile: /root in machine "${MACHINE}" is a directory, not a file`);
  });

  test('exec sets env, cwd and user in the command line', async () => {
    const tricky = `it's "quoted" $HOME \`id\` \\ back\nsecond line `;
    const { stdout } = await vm.exec('printf "%s|%s|%s" "$SPACED" "$TRICKY" "$(pwd)"', {
      env: { SPACED: 'two words', TRICKY: tricky },
      cwd: '/srv/tree/sub',
    });
    expect(stdout).toBe(`two words|${tricky}|/srv/tree/sub`);

    await vm.exec('useradd --create-home --shell /bin/bash tester');
    const asTester = await vm.exec(['sh', '-c', 'id -un; pwd; echo "$GREETING"; touch mine; stat -c %U mine'], {
      user: 'tester',
      env: { GREETING: 'hello tester' },
    });
    expect(asTester.stdout).toBe('tester\n/home/tester\nhello tester\ntester');
    expect((await vm.exec('pwd', { user: 'tester', cwd: '/tmp' })).stdout).toBe('/tmp');
    // Root's login is untouched: the next command is root's again.
    expect((await vm.exec('id -un; pwd')).stdout).toBe('root\n/root');

    const noDir = await vm.exec('echo never', { cwd: '/no/such/dir', reject: false });
    expect(noDir).toMatchObject({ exitCode: 1, stdout: '' });
    expect(noDir.stderr).toContain('cannot run the command in /no/such/dir');
    // /root is 0700: the tester cannot enter it.
    await expect(vm.exec('true', { user: 'tester', cwd: '/root' })).rejects.toThrow(ExecError);
    await expect(vm.exec('true', { user: 'nosuchuser' })).rejects.toThrow(/nosuchuser/);
    await expect(vm.exec('true', { env: { 'BAD-NAME': 'x' } })).rejects.toThrow(/env\.BAD-NAME: is not a variable name/);
  });

  test('onStdout and onStderr receive output while the command still runs', async () => {
    // The command waits on a FIFO that the host writes only after the first line arrived: without
    // incremental delivery it would never end.
    await vm.exec('mkfifo /root/go');
    const stdoutChunks: string[] = [];
    const stderrChunks: string[] = [];
    let released: Promise<unknown> | undefined;
    const result = await vm.exec('echo first; read -r word < /root/go; echo "got $word" >&2; echo last', {
      timeout: 60_000,
      onStdout: (chunk) => {
        stdoutChunks.push(chunk);
        if (!released && stdoutChunks.join('').includes('first\n')) released = vm.exec('echo go > /root/go');
      },
      onStderr: (chunk) => stderrChunks.push(chunk),
    });
    await released;
    expect(stdoutChunks.join('')).toBe('first\nlast\n');
    expect(stderrChunks.join('')).toBe('got go\n');
    expect(result).toMatchObject({ stdout: 'first\nlast', stderr: 'got go', exitCode: 0 });

    const thrown = new Error('the test gave up on this output');
    await expect(
      vm.exec('echo one; sleep 613', {
        onStdout: () => {
          throw thrown;
        },
      }),
    ).rejects.toBe(thrown);
    // The abandoned command's processes are killed ("6[1]3": grep must not find its own arguments).
    await vm.exec("for i in $(seq 100); do grep -qzx '6[1]3' /proc/[0-9]*/cmdline 2>/dev/null || exit 0; sleep 0.1; done; exit 1");
  });

  test('forwardPort reaches a guest TCP service from the host, many connections at once', async () => {
    // An HTTP service on the guest's loopback only: systemd-socket-activate runs the script for
    // each connection, with the connection as its stdin and stdout.
    await vm.writeFile(
      '/usr/local/bin/http-echo',
      [
        '#!/bin/bash',
        'read -r method path version',
        "while IFS= read -r line && [ -n \"${line%$'\\r'}\" ]; do :; done",
        'if [ "$path" = /big ]; then',
        "  printf 'HTTP/1.0 200 OK\\r\\nContent-Length: %s\\r\\n\\r\\n' \"$(stat -c %s /root/served.bin)\"; exec cat /root/served.bin",
        'fi',
        'body="$method $path on $(hostname)"',
        "printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %s\\r\\n\\r\\n%s' \"${#body}\" \"$body\"",
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const served = randomBytes(4 * 1024 * 1024);
    await vm.writeFile('/root/served.bin', served);
    // The server runs as a command of its own; its "Listening on" line, streamed, says it is ready.
    const stopServer = new AbortController();
    let serverLog = '';
    let listening!: () => void;
    const ready = new Promise<void>((resolve) => (listening = resolve));
    const server = vm.exec('exec systemd-socket-activate --listen=127.0.0.1:8080 --accept --inetd /usr/local/bin/http-echo', {
      signal: stopServer.signal,
      onStderr: (chunk) => {
        serverLog += chunk;
        if (serverLog.includes('Listening on 127.0.0.1:8080')) listening();
      },
    });
    await Promise.race([ready, server.then((result) => Promise.reject(new Error(`the guest's HTTP server ended: ${result.stderr}`)))]);

    const forward = await vm.forwardPort(8080);
    expect(forward.port).toBeGreaterThan(0);
    expect(forward.guestPort).toBe(8080);
    const base = `http://127.0.0.1:${forward.port}`;
    expect(await (await fetch(`${base}/one`)).text()).toBe(`GET /one on ${MACHINE}`);
    const paths = Array.from({ length: 24 }, (_, index) => `/parallel/${index}`);
    const bodies = await Promise.all(paths.map(async (path) => (await fetch(`${base}${path}`)).text()));
    expect(bodies).toEqual(paths.map((path) => `GET ${path} on ${MACHINE}`));
    const big = Buffer.from(await (await fetch(`${base}/big`)).arrayBuffer());
    expect(big.length).toBe(served.length);
    expect(sha256(big)).toBe(sha256(served));

    // Nothing listens on guest port 8081: the connection is reset, and the forward stays usable.
    const nothing = await vm.forwardPort(8081);
    await expect(fetch(`http://127.0.0.1:${nothing.port}/`)).rejects.toThrow();
    await nothing.close();
    expect(await accepts(nothing.port)).toBe(false);
    expect(await (await fetch(`${base}/again`)).text()).toBe(`GET /again on ${MACHINE}`);

    await expect(vm.forwardPort(0)).rejects.toThrow(/guestPort: expected a TCP port from 1 to 65535, got 0/);
    await expect(vm.forwardPort(8080, { hostPort: forward.port })).rejects.toThrow(`host port ${forward.port} is in use`);

    stopServer.abort();
    await expect(server).rejects.toThrow(ExecAbortedError);

    // The forward that is left open closes when the machine stops.
    await vm.stop();
    expect(await accepts(forward.port)).toBe(false);
  });
});
