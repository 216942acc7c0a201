/** `run --console=…`: how the console reaches the user, tinted with a background colour or not. */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, expect, test, vi } from 'vitest';
import type { CliIo } from '../../src/cli/command.js';
import { planConsole } from '../../src/cli/console-modes.js';

const artifactDirs: string[] = [];
afterEach(async () => {
  await Promise.all(artifactDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** An artifacts directory holding `console.log` with `text`, removed after the test. */
async function artifactsWithConsole(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'console-modes-'));
  artifactDirs.push(dir);
  await writeFile(join(dir, 'console.log'), text);
  return dir;
}

function fakeIo() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let written = '';
  stdout.on('data', (chunk: Buffer) => (written += chunk.toString('latin1')));
  const io: CliIo = { stdin, stdout, stderr: new PassThrough(), env: {}, cwd: '/', signal: new AbortController().signal };
  return { io, stdin, written: () => written };
}

test('read-only prints console.log as it grows, on the background colour', async () => {
  const artifactsDir = await artifactsWithConsole('first\r\n');
  const { io, written } = fakeIo();
  const plan = await planConsole('read-only', io, { background: '41' });
  expect(plan.consoleSocket).toBeUndefined();
  const console = plan.attach(artifactsDir);
  await vi.waitFor(() => expect(written()).toContain('first'));
  await appendFile(join(artifactsDir, 'console.log'), 'second\r\n');
  await console.stop();
  await console.stop();
  expect(written()).toBe('\x1b[41m\x1b[Kfirst\n\x1b[41m\x1b[Ksecond\n\x1b[0m\x1b[J');
});

test('interactive relays the console socket both ways, tinted; Ctrl-] three times detaches', async () => {
  const { io, stdin, written } = fakeIo();
  const plan = await planConsole('interactive', io, { background: '48;5;22', title: 'Virtual Machine vm' });
  const received: string[] = [];
  let guest: Socket | undefined;
  // QEMU's side: it listens only after a while; the console keeps trying until it does.
  const console = plan.attach('/nonexistent');
  await new Promise((resolve) => setTimeout(resolve, 250));
  const server = createServer((socket) => {
    guest = socket;
    socket.on('data', (chunk) => received.push(chunk.toString()));
    socket.write('login: \x1b[0m');
  });
  await new Promise<void>((resolve) => server.listen(plan.consoleSocket!, resolve));
  try {
    await vi.waitFor(() => expect(written()).toContain('login: '));
    stdin.write('root\r');
    await vi.waitFor(() => expect(received.join('')).toBe('root\r'));
    guest!.write('\r\n# ');
    await vi.waitFor(() => expect(written()).toContain('# '));
    stdin.write(Buffer.from([0x1d, 0x1d, 0x1d]));
    await console.detached;
    await console.stop();
    expect(written()).toBe(
      '\x1b[48;5;22m\x1b[K\x1b[22;2t\x1b]2;Virtual Machine vm\x07login: \x1b[0;48;5;22m\r\x1b[48;5;22m\n\x1b[48;5;22m\x1b[K# \x1b[0m\x1b[J\x1b[23;2t',
    );
    expect(received.join('')).toBe('root\r');
  } finally {
    server.close();
  }
});

test('without a background the console passes byte for byte', async () => {
  const artifactsDir = await artifactsWithConsole('\x1b[0mplain\r\n');
  const { io, written } = fakeIo();
  const console = (await planConsole('read-only', io)).attach(artifactsDir);
  await vi.waitFor(() => expect(written()).toContain('plain'));
  await console.stop();
  expect(written()).toBe('\x1b[0mplain\n');
});
