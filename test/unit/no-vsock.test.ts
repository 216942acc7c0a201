import { createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { planWith, valuesOf } from './plan-fixtures.js';
import { InvalidOptionsError } from '../../src/errors.js';
import { decideVsock, parseVsockOverride, requireSshWithoutVsock, type VsockHostSupport } from '../../src/host/vsock-choice.js';
import { journalStreamCommand } from '../../src/journal/ssh-journal-stream.js';
import { MachineJournal } from '../../src/journal/machine-journal.js';
import { judgeSystemState } from '../../src/machine/ssh-readiness.js';
import { requestPowerOff } from '../../src/machine/power-off-request.js';
import { NotifyEvents } from '../../src/notify/notify-events.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { CONTROL_NETWORK, planControlNetwork } from '../../src/plan/control-network-plan.js';
import type { MachinePlanInput } from '../../src/plan/plan-machine.js';
import { parseUsernetForwards } from '../../src/process/port-forwards.js';
import { ControlNetworkTransport } from '../../src/transport/control-network.js';


/** A plan without vsock, unless `overrides` say otherwise. */
function plan(options: Record<string, unknown>, overrides: Partial<MachinePlanInput> = {}) {
  return planWith(options, { vsock: 'none', binaries: {}, ...overrides });
}

function credentialsOf(planned: ReturnType<typeof plan>): Map<string, string> {
  const map = new Map<string, string>();
  for (const file of planned.smbiosFiles) {
    if ('credential' in file.content && 'value' in file.content.credential) {
      map.set(file.content.credential.name, new TextDecoder().decode(file.content.credential.value));
    }
  }
  return map;
}

describe('vsock choice with no vsock', () => {
  const noKernel = { usable: false, detail: 'this host has no kernel vsock (/dev/vhost-vsock does not exist)' };
  const nothing: VsockHostSupport = { device: noKernel, socat: undefined, userSpaceVsock: false };
  test("'auto' picks no vsock when neither transport is there, and says loudly what is missing", () => {
    const choice = decideVsock('auto', undefined, nothing);
    expect(choice.kind).toBe('none');
    expect(choice.reason).toContain('vsock: NONE');
    expect(choice.reason).toContain('no kernel vsock (/dev/vhost-vsock does not exist)');
    expect(choice.reason).toContain('vhost-device-vsock (user-space vsock) is not installed');
    expect(choice.reason).toContain('notify messages are unavailable');
  });

  test('false is none as configured; user-space stays user-space even without the daemon (it then fails as missing)', () => {
    expect(decideVsock(false, undefined, { device: { usable: true, detail: '' }, socat: '/usr/bin/socat', userSpaceVsock: true })).toMatchObject({ kind: 'none', reason: expect.stringContaining('vsock: false') });
    expect(decideVsock('user-space', undefined, nothing).kind).toBe('user-space');
  });

  test('VMSPAWN_VSOCK overrides auto only', () => {
    const both: VsockHostSupport = { device: noKernel, socat: undefined, userSpaceVsock: true };
    expect(decideVsock('auto', parseVsockOverride('none'), both)).toMatchObject({ kind: 'none', reason: expect.stringContaining('VMSPAWN_VSOCK=none') });
    expect(decideVsock('auto', parseVsockOverride('user-space'), nothing)).toMatchObject({ kind: 'user-space', reason: expect.stringContaining('VMSPAWN_VSOCK') });
    expect(decideVsock('user-space', parseVsockOverride('none'), both).kind).toBe('user-space');
    expect(decideVsock(false, parseVsockOverride('user-space'), both).kind).toBe('none');
    expect(() => parseVsockOverride('kernal')).toThrow(/VMSPAWN_VSOCK.*"kernal".*kernel, user-space, none or auto/s);
  });

  test('ssh: false without vsock is refused, naming both options', () => {
    expect(() => resolveMachineOptions({ linux: '/k', vsock: false, ssh: false })).toThrow(InvalidOptionsError);
    expect(() => resolveMachineOptions({ linux: '/k', vsock: false, ssh: false })).toThrow(/vsock.*ssh is false too/s);
    expect(() => resolveMachineOptions({ linux: '/k', vsock: false })).not.toThrow();
    expect(() => resolveMachineOptions({ linux: '/k', vsock: 'none' })).toThrow(/vsock.*expected 'auto', 'kernel', 'user-space' or false/s);
    expect(() => requireSshWithoutVsock(decideVsock('auto', undefined, nothing), false)).toThrow(/ssh.*is false, but the machine gets no vsock/s);
    expect(() => requireSshWithoutVsock(decideVsock('auto', undefined, nothing), true)).not.toThrow();
    expect(() => requireSshWithoutVsock(decideVsock('user-space', undefined, nothing), false)).not.toThrow();
  });
});

describe('the control network plan', () => {
  test('a restricted user-mode NIC on its own subnet, forwarding a kernel-chosen host port on 127.0.0.1 to guest port 22', () => {
    const { qemu, vsock, helpers } = plan({});
    expect(helpers).toEqual([]);
    expect(valuesOf(qemu.args, '-append')[0]).toMatch(/^console=ttyS0 panic=-1 systemd\.ssh_auto=no$/);
    expect(qemu.args.join(' ')).not.toContain('vsock');
    const netdevs = valuesOf(qemu.args, '-netdev');
    expect(netdevs).toEqual([
      'user,id=vmspawnctl,restrict=on,net=10.0.103.0/24,host=10.0.103.2,dhcpstart=10.0.103.15,ipv6=off,hostfwd=tcp:127.0.0.1:0-10.0.103.15:22,hostfwd=tcp:127.0.0.1:0-10.0.103.15:1',
    ]);
    expect(valuesOf(qemu.args, '-device')).toContainEqual(`virtio-net-pci,netdev=vmspawnctl,mac=${vsock.control!.mac},addr=0x8`);
  });

  test("beside network: 'user' (10.0.2.0/24) and a tap, with a different MAC", () => {
    for (const network of ['user', { tap: 'tap0' }]) {
      const { qemu, vsock } = plan({ network });
      const netdevs = valuesOf(qemu.args, '-netdev');
      expect(netdevs).toHaveLength(2);
      expect(netdevs.filter((netdev) => netdev.includes('restrict=on'))).toHaveLength(1);
      const macs = valuesOf(qemu.args, '-device').flatMap((device) => /mac=([0-9a-f:]+)/.exec(device)?.[1] ?? []);
      expect(new Set(macs).size).toBe(2);
      expect(macs).toContain(vsock.control!.mac);
    }
    expect(CONTROL_NETWORK.net).not.toBe('10.0.2.0');
  });

  test('credentials: static address by MAC, networkd pulled in, sshd on TCP; no notify socket, no journal destination', () => {
    const credentials = credentialsOf(plan({}));
    const { mac } = planControlNetwork({ uuid: '11111111-2222-3333-4444-555555555555', name: 'vm' });
    expect(credentials.get('network.network.40-vitest-vmspawn-control')).toBe(
      `[Match]\nMACAddress=${mac}\n\n[Network]\nAddress=10.0.103.15/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`,
    );
    expect(credentials.get('systemd.unit-dropin.multi-user.target~vitest-vmspawn-control')).toContain('Wants=systemd-network-generator.service systemd-networkd.service');
    expect(credentials.get('ssh.listen')).toBe('0.0.0.0:22\n');
    expect(credentials.has('vmm.notify_socket')).toBe(false);
    expect(credentials.has('journal.forward_to_socket')).toBe(false);
    expect(credentials.get('ssh.authorized_keys.root')).toContain('AAAAclient');
  });

  test("the user's own ssh.listen lines are kept beside the engine's", () => {
    const credentials = credentialsOf(plan({ setCredential: { 'ssh.listen': 'vsock::2222' } }));
    expect(credentials.get('ssh.listen')).toBe('vsock::2222\n0.0.0.0:22\n');
  });

  test('with user-space vsock there is no control network', () => {
    const planned = plan({}, { vsock: 'user-space', binaries: { vhostDeviceVsock: '/usr/bin/vhost-device-vsock' } });
    expect(planned.vsock.control).toBeUndefined();
    expect(valuesOf(planned.qemu.args, '-netdev')).toEqual([]);
    expect(credentialsOf(planned).has('ssh.listen')).toBe(false);
    expect(credentialsOf(planned).has('vmm.notify_socket')).toBe(true);
  });
});

describe('the forwarded SSH port', () => {
  const usernet = [
    'Hub -1 (vmspawnctl):',
    '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ',
    '  TCP[HOST_FORWARD]  14       127.0.0.1 41236     10.0.103.15     1     0     0',
    '  TCP[HOST_FORWARD]  13       127.0.0.1 41235     10.0.103.15    22     0     0',
    'Hub -1 (net0):',
    '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ',
    '  TCP[HOST_FORWARD]  12       127.0.0.1 37781       10.0.2.15    22     0     0',
  ].join('\r\n');

  test("the control forward and the user network's forwards are told apart by their guest address", () => {
    expect(parseUsernetForwards(usernet, CONTROL_NETWORK.guest)).toEqual([
      { hostAddress: '127.0.0.1', host: 41236, guest: 1 },
      { hostAddress: '127.0.0.1', host: 41235, guest: 22 },
    ]);
    expect(parseUsernetForwards(usernet, '10.0.2.15')).toEqual([{ hostAddress: '127.0.0.1', host: 37781, guest: 22 }]);
  });

  test('the transport reads the port from QEMU and refuses other ports and listening, saying why', async () => {
    const transport = new ControlNetworkTransport();
    await expect(transport.connect(22)).rejects.toThrow(/not reported the SSH forward/);
    const qmp = { execute: async () => usernet } as never;
    await expect(transport.attach(qmp)).resolves.toEqual({ hostAddress: '127.0.0.1', host: 41235, guest: 22 });
    await expect(transport.connect(5000)).rejects.toThrow(/port 5000: unavailable: no vsock.*forwardPort/s);
    await expect(transport.listen(1)).rejects.toThrow(/unavailable: no vsock/);
  });
});

describe('readiness and the journal over SSH', () => {
  test('running and degraded are ready; maintenance or stopping fail; starting waits', () => {
    expect(judgeSystemState('running\n')).toBe('ready');
    expect(judgeSystemState('degraded\n')).toBe('ready');
    expect(judgeSystemState('starting\n')).toBe('waiting');
    expect(judgeSystemState('unknown\n', 'Failed to query system state: Connection timed out')).toBe('waiting');
    expect(() => judgeSystemState('maintenance\n')).toThrow(/"maintenance".*did not come up/);
    expect(() => judgeSystemState('', 'sh: systemctl: not found')).toThrow(/printed no state.*not found/);
  });

  test('the journal command reads the whole boot and follows it; a resumed one starts after the cursor', () => {
    expect(journalStreamCommand(undefined)).toBe('journalctl --output=export --follow --lines=all --no-pager --boot');
    expect(journalStreamCommand('s=ab;i=1')).toBe("journalctl --output=export --follow --lines=all --no-pager --boot '--after-cursor=s=ab;i=1'");
  });

  test('a stream read into the machine journal is saved and queryable, and close() waits for its end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'no-vsock-test-'));
    try {
      const journal = new MachineJournal(join(dir, 'journal.export'), join(dir, 'journal.journal'));
      await journal.prepare();
      const stream = new PassThrough();
      const cursors: string[] = [];
      void journal.receive(stream, (fields) => cursors.push(fields.__CURSOR!));
      stream.write('__CURSOR=c1\nMESSAGE=first\n\n__CURSOR=c2\nMESS');
      const closing = journal.close('the machine exited');
      setTimeout(() => stream.end('AGE=second\n\n'), 50);
      await closing;
      expect(journal.entries().map((entry) => entry.message)).toEqual(['first', 'second']);
      expect(cursors).toEqual(['c1', 'c2']);
      expect(await readFile(join(dir, 'journal.export'), 'utf8')).toBe('__CURSOR=c1\nMESSAGE=first\n\n__CURSOR=c2\nMESSAGE=second\n\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('notify marked unavailable: waits fail at once saying so, and power-off does not wait for a notify message', async () => {
    const notify = new NotifyEvents();
    notify.markUnavailable('unavailable: no vsock');
    expect(notify.unavailable).toBe('unavailable: no vsock');
    await expect(notify.waitForReady()).rejects.toThrow(/unavailable: no vsock/);
    const { heard, stop } = requestPowerOff({ ssh: undefined, qmp: undefined, notify });
    const outcome = await Promise.race([heard, new Promise((resolve) => setTimeout(() => resolve('pending'), 50))]);
    stop();
    expect(outcome).toBe('pending');
  });
});

test('debug mode without vsock: the ssh config reaches the forwarded TCP port instead of the vsock proxy', async () => {
  const { prepareDebugShell } = await import('../../src/vitest/debug-shell.js');
  const vm = {
    name: 'vm',
    artifactsDir: '/tmp/artifacts',
    sshAccess: { clientPrivateKey: 'KEY\n', hostPublicKey: 'ssh-ed25519 AAAA host', vsockSocket: '/run/x/vsock', tcp: { host: '127.0.0.1', port: 41235 } },
  } as never;
  const shell = await prepareDebugShell(vm);
  try {
    const config = await readFile(join(shell.directory, 'ssh_config'), 'utf8');
    expect(config).toContain('  HostName 127.0.0.1\n  Port 41235\n');
    expect(config).not.toContain('ProxyCommand');
  } finally {
    await rm(shell.directory, { recursive: true, force: true });
  }
});

describe('reaching sshd through the control network', () => {
  /**
   * Stands in for QEMU's user-mode network: two host ports, the SSH forward and the probe's, that
   * accept at once and then do what `guest` says, as the guest would answer through QEMU. Closed
   * when the test finishes.
   */
  async function fakeForwards(guest: { probe: (socket: Socket, n: number) => void; ssh: (socket: Socket, n: number) => void }) {
    const connections = { probe: 0, ssh: 0 };
    const sockets: Socket[] = [];
    const serve = (kind: 'probe' | 'ssh') =>
      createServer((socket) => {
        sockets.push(socket);
        socket.on('error', () => undefined);
        guest[kind](socket, ++connections[kind]);
      });
    const servers = [serve('ssh'), serve('probe')];
    const ports = await Promise.all(
      servers.map((server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))),
    );
    const usernet = [
      `  TCP[HOST_FORWARD]  13       127.0.0.1 ${ports[0]}     10.0.103.15    22     0     0`,
      `  TCP[HOST_FORWARD]  14       127.0.0.1 ${ports[1]}     10.0.103.15     1     0     0`,
    ].join('\r\n');
    const qmp = { execute: async () => usernet } as never;
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      for (const server of servers) server.close();
    });
    return { connections, qmp };
  }

  const greeting = (socket: Socket) => socket.write('SSH-2.0-guest\r\n');
  const firstChunk = (stream: Duplex) => new Promise<string>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString())));

  test('no SSH connection is opened before the NIC answers the probe; then one, and later connects need no probe', async () => {
    // The NIC "comes up" with the third probe, which the guest's kernel resets.
    const guest = await fakeForwards({ probe: (socket, n) => n >= 3 && socket.end(), ssh: greeting });
    const answers: number[] = [];
    const transport = new ControlNetworkTransport({ probeIntervalMs: 50 });
    await transport.attach(guest.qmp, (probingMs) => answers.push(probingMs));
    const stream = await transport.connect(22, { timeout: 5_000 });
    expect(await firstChunk(stream)).toBe('SSH-2.0-guest\r\n');
    expect(guest.connections).toEqual({ probe: 3, ssh: 1 });
    expect(answers).toHaveLength(1);
    expect(answers[0]).toBeGreaterThanOrEqual(90);
    stream.destroy();
    (await transport.connect(22, { timeout: 5_000 })).destroy();
    expect(guest.connections).toEqual({ probe: 3, ssh: 2 });
  });

  test('while the probe is unanswered, a connect fails at its timeout saying so, and the probing stops with it', async () => {
    const guest = await fakeForwards({ probe: () => undefined, ssh: greeting });
    const transport = new ControlNetworkTransport({ probeIntervalMs: 50 });
    await transport.attach(guest.qmp);
    await expect(transport.connect(22, { timeout: 300 })).rejects.toThrow(/no answer within 300 ms \(the guest's control NIC has not answered for 0\.[0-9] s\)/);
    expect(guest.connections.ssh).toBe(0);
    const probes = guest.connections.probe;
    expect(probes).toBeGreaterThanOrEqual(5);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(guest.connections.probe).toBe(probes);
  });

  test('a sshd slow to answer after the NIC is up gets no second connection beside it', async () => {
    const guest = await fakeForwards({ probe: (socket) => socket.end(), ssh: (socket) => setTimeout(() => greeting(socket), 400) });
    const transport = new ControlNetworkTransport({ probeIntervalMs: 50 });
    await transport.attach(guest.qmp);
    const stream = await transport.connect(22, { timeout: 5_000 });
    expect(await firstChunk(stream)).toBe('SSH-2.0-guest\r\n');
    expect(guest.connections.ssh).toBe(1);
    stream.destroy();
  });

  test('a probe that stays unanswered past the trust time (a firewall) lets SSH be tried anyway, once per connect', async () => {
    let sshSilent = 0;
    const guest = await fakeForwards({ probe: () => undefined, ssh: (socket, n) => n > sshSilent && greeting(socket) });
    const transport = new ControlNetworkTransport({ probeIntervalMs: 50, probeTrustMs: 200 });
    await transport.attach(guest.qmp);
    await expect(transport.connect(22, { timeout: 250 })).rejects.toThrow(/no answer within 250 ms/);
    expect(guest.connections.ssh).toBe(0);
    // sshd behind the firewall answers only the second attempt (QEMU resent its SYN too late for the first).
    sshSilent = 1;
    await expect(transport.connect(22, { timeout: 250 })).rejects.toThrow(/no answer within 250 ms \(the guest's control NIC has not answered for 0\.[0-9] s\)/);
    const stream = await transport.connect(22, { timeout: 5_000 });
    expect(await firstChunk(stream)).toBe('SSH-2.0-guest\r\n');
    expect(guest.connections.ssh).toBe(2);
    stream.destroy();
  });

  test('an SSH connection without any answer makes the next connect probe again (the NIC may be down: a reboot)', async () => {
    let sshAnswers = false;
    const guest = await fakeForwards({ probe: (socket) => socket.end(), ssh: (socket) => sshAnswers && greeting(socket) });
    const transport = new ControlNetworkTransport({ probeIntervalMs: 50 });
    await transport.attach(guest.qmp);
    await expect(transport.connect(22, { timeout: 300 })).rejects.toThrow(/no answer within 300 ms$/);
    expect(guest.connections).toEqual({ probe: 1, ssh: 1 });
    sshAnswers = true;
    (await transport.connect(22, { timeout: 5_000 })).destroy();
    expect(guest.connections).toEqual({ probe: 2, ssh: 2 });
  });
});
