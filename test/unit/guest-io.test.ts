/**
 * The host side of talking to the guest, without a guest: streamed exec output on a stand-in SSH
 * channel, and port forwarding with a local TCP server standing in for the guest's sshd.
 */
import { EventEmitter } from 'node:events';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import type ssh2 from 'ssh2';
import { afterEach, describe, expect, expectTypeOf, test } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import type { ExecOptions, GuestPortForward, StartedMachine, WriteFileOptions } from '../../src/machine-api.js';
import { runOnChannel } from '../../src/ssh/run-command.js';
import { checkWriteFileOptions } from '../../src/ssh/sftp-transfer.js';
import { forwardPortProblems, startPortForward } from '../../src/ssh/ssh-port-forward.js';

/** A stand-in for an exec channel: the test pushes output and ends it. */
class FakeChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  closed = false;
  end(): void {}
  close(): void {
    this.closed = true;
  }
  finish(code: number): void {
    this.emit('exit', code);
    this.emit('close');
  }
}

function run(channel: FakeChannel, options: Parameters<typeof runOnChannel>[2], abandoned: string[] = []) {
  return runOnChannel(
    channel as unknown as ssh2.ClientChannel,
    { commandLine: 'cmd', started: performance.now(), whyClosedEarly: async () => undefined, onAbandon: () => abandoned.push('killed') },
    options,
    undefined,
  );
}

describe('streamed exec output', () => {
  test('chunks reach the callbacks as they arrive, never splitting a UTF-8 character, and the result holds them all', async () => {
    const channel = new FakeChannel();
    const seen: string[] = [];
    const result = run(channel, { onStdout: (chunk) => seen.push(`out:${chunk}`), onStderr: (chunk) => seen.push(`err:${chunk}`) });
    const snowman = Buffer.from('☃', 'utf8');
    channel.emit('data', Buffer.from('one\n'));
    expect(seen).toEqual(['out:one\n']);
    channel.emit('data', Buffer.concat([Buffer.from('two '), snowman.subarray(0, 1)]));
    channel.stderr.emit('data', Buffer.from('warning\n'));
    channel.emit('data', snowman.subarray(1));
    expect(seen).toEqual(['out:one\n', 'out:two ', 'err:warning\n', 'out:☃']);
    channel.finish(0);
    expect(await result).toMatchObject({ stdout: 'one\ntwo ☃', stderr: 'warning', exitCode: 0 });
  });

  test('an incomplete character at the very end still reaches the callback, as the result has it', async () => {
    const channel = new FakeChannel();
    const seen: string[] = [];
    const result = run(channel, { onStdout: (chunk) => seen.push(chunk), stripFinalNewline: false });
    channel.emit('data', Buffer.from([0x61, 0xe2, 0x98]));
    channel.finish(0);
    expect(seen.join('')).toBe((await result).stdout);
    expect(seen).toEqual(['a', '\ufffd']);
  });

  test('a callback that throws abandons the command and exec rejects with its error', async () => {
    const channel = new FakeChannel();
    const abandoned: string[] = [];
    const failure = new Error('stop here');
    const result = run(channel, { onStdout: () => { throw failure; } }, abandoned);
    channel.emit('data', Buffer.from('boom'));
    await expect(result).rejects.toBe(failure);
    expect(channel.closed).toBe(true);
    expect(abandoned).toEqual(['killed']);
    channel.finish(0);
  });
});

describe('forwardPort', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** A local TCP server standing in for the guest service; `openChannel` connects to it as sshd would. */
  async function guestService(handler: (socket: Socket) => void): Promise<{ port: number }> {
    const server: Server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    return { port: (server.address() as { port: number }).port };
  }

  async function forward(guestPort: number, options = {}, opened: number[] = []): Promise<GuestPortForward> {
    const handle = await startPortForward(guestPort, options, {
      openChannel: (host, port) =>
        new Promise((resolve, reject) => {
          opened.push(port);
          const socket = connectTcp({ host, port });
          socket.once('connect', () => resolve(socket as unknown as ssh2.ClientChannel));
          socket.once('error', reject);
        }),
      log: () => undefined,
      machine: 'machine "unit"',
    });
    cleanups.push(() => handle.close());
    return handle;
  }

  function request(port: number, text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host: '127.0.0.1', port });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
      socket.on('error', reject);
      socket.end(text);
    });
  }

  test('many connections at once each reach the guest port and get their own answer', async () => {
    const service = await guestService((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('end', () => socket.end(`echo:${Buffer.concat(chunks).toString()}`));
    });
    const opened: number[] = [];
    const handle = await forward(service.port, {}, opened);
    expect(handle.guestPort).toBe(service.port);
    const texts = Array.from({ length: 40 }, (_, index) => `request ${index} ${'x'.repeat(index * 1000)}`);
    expect(await Promise.all(texts.map((text) => request(handle.port, text)))).toEqual(texts.map((text) => `echo:${text}`));
    expect(opened).toHaveLength(40);
  });

  test('a refused guest connection resets the host connection; close() stops listening', async () => {
    // A port with nothing behind it: take one and free it.
    const vacant = await guestService(() => undefined);
    await cleanups.pop()?.();
    const handle = await forward(vacant.port);
    await expect(request(handle.port, 'hello')).rejects.toThrow(/ECONNRESET/);
    await handle.close();
    await handle.close();
    await expect(request(handle.port, 'hello')).rejects.toThrow(/ECONNREFUSED/);
  });

  test('bad arguments and a busy host port are explained', async () => {
    expect(forwardPortProblems(70000, { hostPort: -1, guestHost: '' })).toEqual([
      { option: 'guestPort', message: 'expected a TCP port from 1 to 65535, got 70000' },
      { option: 'hostPort', message: 'expected a TCP port from 0 (any free port) to 65535, got -1' },
      { option: 'guestHost', message: 'expected a host name or address as the guest sees it, got ""' },
    ]);
    await expect(forward(1.5)).rejects.toThrow(InvalidOptionsError);
    const first = await forward(80);
    await expect(forward(80, { hostPort: first.port })).rejects.toThrow(
      `forwardPort(80) of machine "unit": cannot listen on 127.0.0.1: host port ${first.port} is in use; pass another hostPort, or none for a free one`,
    );
  });
});

test('writeFile takes permission bits as mode, nothing else', () => {
  expect(() => checkWriteFileOptions({ mode: 0o4755 })).not.toThrow();
  for (const mode of [-1, 0o10000, 1.5, '644']) {
    expect(() => checkWriteFileOptions({ mode } as never)).toThrow(`Invalid writeFile options:\n  - mode: expected permission bits from 0 to 0o7777 (e.g. 0o644), got ${mode}`);
  }
});

test('the handle\'s guest I/O types: readFile gives bytes or text, and option typos do not compile', () => {
  expectTypeOf<StartedMachine['readFile']>().toBeCallableWith('/etc/hostname');
  expectTypeOf<ReturnType<StartedMachine['forwardPort']>>().toEqualTypeOf<Promise<GuestPortForward>>();
  const declare = (register: (vm: StartedMachine) => Promise<void>) => void register;
  declare(async (vm) => {
    expectTypeOf(await vm.readFile('/etc/hostname')).toEqualTypeOf<Buffer>();
    expectTypeOf(await vm.readFile('/etc/hostname', 'utf8')).toEqualTypeOf<string>();
  });
  expectTypeOf<{ env: { A: 'b' }; cwd: '/srv'; user: 'app'; onStdout: (chunk: string) => void }>().toExtend<ExecOptions>();
  expectTypeOf<{ env: { A: 1 } }>().not.toExtend<ExecOptions>();
  expectTypeOf<{ mode: 0o644 }>().toExtend<WriteFileOptions>();
  expectTypeOf<{ mode: '644' }>().not.toExtend<WriteFileOptions>();
});
