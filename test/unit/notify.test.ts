import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { NotifyEvents } from '../../src/notify/notify-events.js';
import { listenForNotifications } from '../../src/notify/notify-listener.js';
import { exitStatusOf, isGoingDownSign, isReady, isShutdownSign, parseNotifyFields, type NotifyMessage } from '../../src/notify/notify-message.js';
import { listenOnUnixSocket } from '../../src/transport/unix-listener.js';
import type { VsockTransport } from '../../src/transport/vsock-transport.js';

const message = (raw: string, time = 0): NotifyMessage => ({ time, raw, fields: parseNotifyFields(raw) });

describe('notify messages', () => {
  test('parses assignments, keeping values with "=" whole', () => {
    expect(parseNotifyFields('READY=1\nSTATUS=Ready.\nX_A=b=c\nnoise')).toEqual({ READY: '1', STATUS: 'Ready.', X_A: 'b=c' });
  });

  test('READY and EXIT_STATUS', () => {
    expect(isReady(message('READY=1\nSTATUS=Ready.'))).toBe(true);
    expect(isReady(message('READY=0'))).toBe(false);
    expect(exitStatusOf(message('EXIT_STATUS=42\nX_SYSTEMD_SHUTDOWN=poweroff'))).toBe(42);
    expect(exitStatusOf(message('EXIT_STATUS=abc'))).toBeUndefined();
  });

  test('messages that say the guest is going down', () => {
    for (const raw of ['STOPPING=1', 'X_SYSTEMD_SHUTDOWN=poweroff', 'EXIT_STATUS=0', 'X_SYSTEMD_UNIT_ACTIVE=shutdown.target', 'X_SYSTEMD_UNIT_ACTIVE=reboot.target']) {
      expect(isShutdownSign(message(raw)), raw).toBe(true);
    }
    for (const raw of ['READY=1', 'X_SYSTEMD_UNIT_ACTIVE=multi-user.target', 'X_SYSTEMD_UNIT_INACTIVE=ssh-access.target', 'STATUS=Stopping']) {
      expect(isShutdownSign(message(raw)), raw).toBe(false);
    }
  });

  test('messages that show the guest leaving its running state, as systemd 257 sends them on poweroff', () => {
    for (const raw of ['X_SYSTEMD_UNIT_INACTIVE=multi-user.target', 'X_SYSTEMD_UNIT_INACTIVE=ssh-access.target', 'X_SYSTEMD_UNIT_ACTIVE=shutdown.target', 'EXIT_STATUS=0\nX_SYSTEMD_SHUTDOWN=poweroff']) {
      expect(isGoingDownSign(message(raw)), raw).toBe(true);
    }
    for (const raw of ['X_SYSTEMD_UNIT_ACTIVE=multi-user.target', 'X_SYSTEMD_UNIT_INACTIVE=timers.target', 'READY=1\nSTATUS=Ready.']) {
      expect(isGoingDownSign(message(raw)), raw).toBe(false);
    }
  });

  test('the event stream tracks readiness, status, units and exit status', async () => {
    const events = new NotifyEvents();
    const unit = events.waitForUnit('ssh-access.target');
    events.push(message('X_SYSTEMD_UNIT_ACTIVE=sysinit.target'));
    events.push(message('X_SYSTEMD_UNIT_ACTIVE=ssh-access.target'));
    await expect(unit).resolves.toMatchObject({ fields: { X_SYSTEMD_UNIT_ACTIVE: 'ssh-access.target' } });
    expect(events.ready).toBe(false);
    events.push(message('READY=1\nSTATUS=Ready.'));
    expect(events.ready).toBe(true);
    expect(events.status).toBe('Ready.');
    await expect(events.waitForReady()).resolves.toMatchObject({ raw: 'READY=1\nSTATUS=Ready.' });
    events.push(message('X_SYSTEMD_UNIT_INACTIVE=ssh-access.target'));
    expect([...events.activeUnits]).toEqual(['sysinit.target']);
    events.push(message('EXIT_STATUS=42\nX_SYSTEMD_SHUTDOWN=poweroff'));
    expect(events.exitStatus).toBe(42);
  });

  test('a wait fails when the stream ends, and after a timeout', async () => {
    const events = new NotifyEvents();
    await expect(events.waitForReady({ timeout: 20 })).rejects.toThrow('Timed out after 20 ms waiting for READY=1');
    const pending = events.waitForReady();
    events.end('the machine exited');
    await expect(pending).rejects.toThrow('Stopped waiting for READY=1: the machine exited');
  });
});

/** A transport whose "guest" connections are made by the test. */
function fakeTransport(deliversHalfClose: boolean) {
  let accept: ((socket: Duplex) => void) | undefined;
  const transport: VsockTransport = {
    description: 'fake',
    deliversHalfClose,
    listen: async (_port, onConnection) => {
      accept = onConnection;
      return { close: async () => undefined };
    },
    connect: () => Promise.reject(new Error('not used')),
  };
  const guestSends = (payload: string, { halfClose }: { halfClose: boolean }) => {
    const socket = new PassThrough();
    let destroyed = false;
    socket.on('close', () => (destroyed = true));
    accept?.(socket);
    socket.write(payload);
    if (halfClose) socket.end();
    return { wasClosedByHost: () => destroyed };
  };
  return { transport, guestSends };
}

describe('notify listener', () => {
  test('with half-close delivered, a message ends at end-of-stream', async () => {
    const { transport, guestSends } = fakeTransport(true);
    const received: NotifyMessage[] = [];
    await listenForNotifications(transport, 1, () => 7, (m) => received.push(m));
    guestSends('READY=1\nSTATUS=Ready.', { halfClose: true });
    await sleep(10);
    expect(received).toEqual([{ time: 7, raw: 'READY=1\nSTATUS=Ready.', fields: { READY: '1', STATUS: 'Ready.' } }]);
  });

  test('without half-close, a short silence ends the message and the host closes the connection', async () => {
    const { transport, guestSends } = fakeTransport(false);
    const received: NotifyMessage[] = [];
    await listenForNotifications(transport, 1, () => 0, (m) => received.push(m));
    const connection = guestSends('EXIT_STATUS=3', { halfClose: false });
    await sleep(50);
    expect(received.map((m) => m.fields)).toEqual([{ EXIT_STATUS: '3' }]);
    expect(connection.wasClosedByHost()).toBe(true);
  });

  test("closing the listener completes a message whose connection is still open, before close() resolves (the guest's last EXIT_STATUS)", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'notify-test-'));
    const guest = new Socket();
    try {
      const path = join(dir, 'notify');
      const transport: VsockTransport = {
        description: 'unix socket',
        deliversHalfClose: true,
        listen: (_port, onConnection) => listenOnUnixSocket(path, onConnection),
        connect: () => Promise.reject(new Error('not used')),
      };
      const received: NotifyMessage[] = [];
      const listener = await listenForNotifications(transport, 1, () => 0, (m) => received.push(m));
      await new Promise<void>((resolve) => guest.connect(path, resolve));
      guest.on('error', () => undefined);
      guest.write('X_SYSTEMD_SHUTDOWN=poweroff\nEXIT_STATUS=0');
      await sleep(50);
      // Half-close is delivered here and the guest has not sent one: the message is still open.
      expect(received).toEqual([]);
      await listener.close();
      expect(received.map((m) => m.fields)).toEqual([{ X_SYSTEMD_SHUTDOWN: 'poweroff', EXIT_STATUS: '0' }]);
    } finally {
      guest.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
